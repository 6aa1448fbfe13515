"""Files from users: bounded reading, the configuration reader, the profile loader (issue 11).

Each example of the issue is a test here, and each kind is tried over more inputs than the
example: devices, FIFOs and symlinks; deep, wide, duplicated, aliased, non-UTF-8 and
huge-integer YAML; profiles that break each invariant or lie about their members' sizes.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.configfile import (
    MAX_DEPTH,
    ConfigFileError,
    MonitorManifest,
    MonitorManifestSpec,
    known_fields,
    load_config,
    parse_config,
)
from driftwarden.detectors.profile import (
    PROFILE_FORMAT,
    ProfileFormatError,
    WindowProfile,
    dumps,
    load_profile,
    loads,
    window_profile,
)
from driftwarden.detectors.userfiles import UserFileError, read_user_file, write_atomic

# --- bounded reading -----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused_directly_and_behind_a_symlink(target: str, tmp_path: Path) -> None:
    link = tmp_path / "config.yaml"
    link.symlink_to(target)
    for path in (Path(target), link):
        with pytest.raises(UserFileError, match="must be a regular file, this is a device"):
            read_user_file(path, what="config", max_bytes=1000)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(UserFileError, match="FIFO"):
        read_user_file(fifo, what="config", max_bytes=1000)


def test_directories_missing_files_and_oversized_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UserFileError, match="a directory"):
        read_user_file(tmp_path, what="config", max_bytes=1000)
    with pytest.raises(UserFileError, match="No such file"):
        read_user_file(tmp_path / "absent", what="config", max_bytes=1000)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 1001)
    with pytest.raises(UserFileError, match="1001 bytes, more than the limit of 1000"):
        read_user_file(big, what="config", max_bytes=1000)
    assert read_user_file(big, what="config", max_bytes=1001) == b"x" * 1001


def test_write_atomic_uses_unique_temporary_names(tmp_path: Path) -> None:
    target = tmp_path / "p.dwprofile"
    write_atomic(target, b"one", what="profile")
    write_atomic(target, b"two", what="profile")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["p.dwprofile"]  # no temporary left
    with pytest.raises(UserFileError, match="cannot write the profile"):
        write_atomic(tmp_path / "no" / "dir" / "p.dwprofile", b"x", what="profile")


def test_concurrent_profile_writers_each_leave_a_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "p.dwprofile"
    payloads = [bytes([i]) * 2_000_000 for i in range(1, 5)]
    pids = []
    for payload in payloads:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 0
            try:
                for _ in range(5):
                    write_atomic(target, payload, what="profile")
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        pids.append(pid)
    assert [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids] == [0] * 4
    assert target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["p.dwprofile"]


# --- the configuration reader --------------------------------------------------------------


def test_a_misspelt_key_in_a_modelmonitor_is_refused() -> None:
    manifest = (
        b"apiVersion: driftwarden.io/v1alpha1\nkind: ModelMonitor\nmetadata: {name: m}\n"
        b"spec:\n  features: [{name: age}]\n  minSampels: 10\n"
    )
    refused = (
        r"invalid settings: spec\.minSampels is not a known field \(did you mean 'minSamples'\?\)$"
    )
    with pytest.raises(ConfigFileError, match=refused):
        parse_config(manifest)
    good = manifest.replace(b"minSampels", b"minSamples")
    several = b"features: [{name: a, methd: ks}, {}]\nthresholds: {warnng: 0.1}\nx: 1\n"
    with pytest.raises(ConfigFileError) as caught:
        parse_config(several, source="cfg.yaml")
    assert str(caught.value) == (
        "cfg.yaml: invalid settings: features.0.methd is not a known field (did you mean "
        "'methods'?); "
        "features.1.name is required; at thresholds.warnng: Input should be 'psi', 'ks', "
        "'js', 'wasserstein', 'kl', 'hellinger' or 'chi2' (and 1 more)"
    )
    assert parse_config(good)["minSamples"] == 10


def test_an_unknown_field_is_offered_the_closest_known_one_at_its_place() -> None:
    """Where the location leads to no model (a mapping of anything) or nothing is close,
    the message stays as it was."""
    assert {"minSamples", "features", "schedule"} <= set(known_fields(MonitorManifest, ["spec"]))
    assert "type" in known_fields(DetectionSpec, ["features", "0"])
    assert known_fields(DetectionSpec, ["nope"]) == []
    assert known_fields(MonitorManifest, ["metadata"]) == []  # dict[str, Any]
    with pytest.raises(ConfigFileError) as caught:
        parse_config(b"features: [{name: a}]\nzzz: 1\n", source="cfg.yaml")
    assert str(caught.value) == "cfg.yaml: invalid settings: zzz is not a known field"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (b"minSamples: 5\nminSamples: 6\n", "duplicate key 'minSamples'"),
        (b"features:\n- {name: a, name: b}\n", "duplicate key 'name'"),
        (b"minSamples: " + b"9" * 5000 + b"\n", "integer of 5000 digits"),
        (b"minSamples: 0x" + b"f" * 100 + b"\n", "digits"),
        (b"a: &x [1]\nb: *x\n", "anchors and aliases"),
        (b"minSamples: 5\n---\nminSamples: 6\n", "more than one YAML document"),
        (b"\xff\xfeminSamples: 5\n", "not UTF-8"),
        (b"minSamples: 5 \xe9\n", "not UTF-8"),
        (b"[" * 600 + b"]" * 600, f"nested more than {MAX_DEPTH} levels"),
        (b"a:\n" + b"".join(b" " * i + b"b:\n" for i in range(1, 200)), "nested more"),
        (b"- 1\n- 2\n", "a mapping at the top level"),
        (b"features: [{name: a}]\nhealthWeights: {dataDrift: .inf}\n", "healthWeights"),
        (b"healthWeights: {dataDrift: 1e308}\n", "healthWeights"),
        (
            b"healthWeights: {dataDrift: 0, predictionDrift: 0, performance: 0, "
            b"conceptDrift: 0, dataQuality: 0, operational: 0}\n",
            "healthWeights",
        ),
        (b"kind: RetrainPolicy\nspec: {}\n", "invalid settings"),
        (b"apiVersion: v1\nkind: ModelMonitor\n", "spec"),
    ],
)
def test_hostile_configurations_are_input_errors(document: bytes, expected: str) -> None:
    with pytest.raises(ConfigFileError, match=expected) as error:
        parse_config(document, source="c.yaml")
    assert error.value.exit_code == 2
    assert len(str(error.value)) < 400


def test_a_huge_feature_list_is_refused_quickly_in_one_short_line() -> None:
    document = ("features:\n" + "".join(f"- {{name: f{i}}}\n" for i in range(100_000))).encode()
    with pytest.raises(ConfigFileError, match="more than") as error:
        parse_config(document)
    assert len(str(error.value)) < 400


def test_an_oversized_config_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"# " + b"x" * (2 << 20))
    with pytest.raises(UserFileError, match="more than the limit"):
        load_config(path)


def test_a_bom_is_accepted_and_settings_round_trip() -> None:
    settings = parse_config(b"\xef\xbb\xbfminSamples: 7\nfeatures: [{name: a, type: numeric}]\n")
    assert DetectionSpec.model_validate(settings).min_samples == 7


def test_the_manifest_model_knows_exactly_the_operators_spec_keys() -> None:
    from driftwarden.operator.api.modelmonitor import ModelMonitorSpec

    def keys(model: Any) -> set[str]:
        return {field.alias or name for name, field in model.model_fields.items()}

    assert set(MonitorManifestSpec.OPERATOR_KEYS) == keys(ModelMonitorSpec) - keys(DetectionSpec)
    assert keys(MonitorManifestSpec) == keys(ModelMonitorSpec)


# --- the profile loader ----------------------------------------------------------------------


def _profile() -> WindowProfile:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=500),
            "c": rng.choice(["a", "b"], size=500),
            "label": rng.integers(0, 2, size=500).astype(float),
            "text": rng.choice(["u", "v"], size=500),
        }
    )
    frame.loc[3, "x"] = np.nan
    return window_profile(
        frame,
        {"x": "numeric", "c": "categorical"},
        row_sample_columns=["label", "text"],
        row_sample_size=100,
    )


def _members(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        arrays = {
            info.filename.removesuffix(".npy"): np.load(io.BytesIO(archive.read(info)))
            for info in archive.infolist()
        }
    header = json.loads(arrays.pop("header").tobytes())
    return header, arrays


def _pack(header: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]]) -> bytes:
    buffer = io.BytesIO()
    payload = json.dumps(header).encode()
    np.savez_compressed(buffer, header=np.frombuffer(payload, dtype=np.uint8), **arrays)
    return buffer.getvalue()


def _edit(change: Callable[[dict[str, Any], dict[str, Any]], None]) -> bytes:
    header, arrays = _members(dumps(_profile()))
    change(header, arrays)
    return _pack(header, arrays)


def test_a_faithful_profile_round_trips() -> None:
    profile = _profile()
    restored = loads(_edit(lambda h, a: None))
    assert restored.rows == profile.rows
    assert restored.numeric("x").count == 499
    assert dict(restored.categorical("c").counts) == dict(profile.categorical("c").counts)
    assert list(restored.row_sample.columns) == ["label", "text"]


def _x(header: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = header["columns"]["x"]
    return meta


def _set_value(index: int, value: float) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def change(header: dict[str, Any], arrays: dict[str, Any]) -> None:
        values = arrays["values_0"].copy()
        values[index] = value
        arrays["values_0"] = values

    return change


BROKEN: dict[str, tuple[Callable[[dict[str, Any], dict[str, Any]], None], str]] = {
    "NaN among the values": (_set_value(10, np.nan), "not all finite"),
    "infinite value": (_set_value(-1, np.inf), "not all finite"),
    "unsorted values": (_set_value(0, 1e6), "not sorted"),
    "ten values claiming 5000": (
        lambda h, a: (_x(h).update(count=5000), h.update(rows=5001)),
        "the header declares 5000",
    ),
    "counts that do not add up": (lambda h, a: _x(h).update(missing=7), "differ from the"),
    "negative count": (lambda h, a: _x(h).update(missing=-1), "outside"),
    "boolean count": (lambda h, a: _x(h).update(count=True), "must be an integer"),
    "type errors above missing": (lambda h, a: _x(h).update(type_errors=2), "exceed missing"),
    "minimum above the values": (lambda h, a: _x(h).update(minimum=0.0), "minimum"),
    "NaN total": (lambda h, a: _x(h).update(total=float("nan")), "finite"),
    "mean outside the range": (lambda h, a: _x(h).update(total=1e9), "mean"),
    "category counts off": (
        lambda h, a: h["columns"]["c"]["counts"].update(a=1.5),
        "positive whole numbers",
    ),
    "category total off": (
        lambda h, a: h["columns"]["c"].update(missing=3),
        "category counts",
    ),
    "unknown kind": (lambda h, a: _x(h).update(kind="tensor"), "unknown kind"),
    "shape mismatch of the sample": (
        lambda h, a: a.update(sample_0=a["sample_0"][:-1]),
        "declares",
    ),
    "2-D values": (
        lambda h, a: a.update(values_0=a["values_0"][:498].reshape(2, 249)),
        "one dimension",
    ),
    "int values": (lambda h, a: a.update(values_0=a["values_0"].astype(np.int64)), "expected"),
    "missing member": (lambda h, a: a.pop("values_0"), "missing"),
    "extra member": (lambda h, a: a.update(evil=np.zeros(3)), "unexpected archive member"),
    "sample larger than rows": (lambda h, a: h.update(rows=50), "differ"),
    "max_points huge": (lambda h, a: h.update(max_points=10**12), "max_points"),
    "max_points below values": (lambda h, a: h.update(max_points=10), "limit of 10"),
    "sample keys outside [0, 1)": (
        lambda h, a: a.update(sample_keys=a["sample_keys"] + 1),
        r"\[0, 1\)",
    ),
    "sample text of wrong length": (
        lambda h, a: h["sample_text"].update({"1": ["u"]}),
        "expected 100 cells",
    ),
    "weighted without weights": (lambda h, a: _x(h).update(weighted=True), "weights_0"),
    "another format": (lambda h, a: h.update(format="driftwarden.io/profile/v9"), "v9"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_every_profile_invariant_is_checked(case: str) -> None:
    change, expected = BROKEN[case]
    data = _edit(change)
    with pytest.raises(ProfileFormatError, match=expected) as error:
        loads(data)
    assert error.value.exit_code == 2


def test_weights_must_add_up_to_the_count() -> None:
    def weighted(h: dict[str, Any], a: dict[str, Any]) -> None:
        _x(h)["weighted"] = True
        a["weights_0"] = np.full(a["values_0"].shape, 2.0)

    with pytest.raises(ProfileFormatError, match="weights add up to 998"):
        loads(_edit(weighted))


def _zip_with(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def _npy_header(count: int, dtype: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": (count,)}
    )
    return buffer.getvalue()


def test_a_compression_bomb_is_refused_before_decompressing() -> None:
    """A member whose npy header matches the declared count of 10 values but which unpacks
    to 200 MB: refused from the member's stored size, before its data is decompressed."""
    column = {"kind": "numeric", "index": 0, "count": 10, "missing": 0, "minimum": 0.0,
              "maximum": 0.0, "total": 0.0, "total_squares": 0.0, "type_errors": 0,
              "weighted": False}  # fmt: skip
    header = json.dumps(
        {"format": PROFILE_FORMAT, "rows": 10, "max_points": 1 << 20,
         "columns": {"x": column}, "row_sample_columns": []}
    ).encode()  # fmt: skip
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(header, dtype=np.uint8))
    keys = io.BytesIO()
    np.save(keys, np.zeros(0))
    members = {"header.npy": buffer.getvalue(), "sample_keys.npy": keys.getvalue()}
    bomb = _zip_with({**members, "values_0.npy": _npy_header(10) + b"\x00" * (200 << 20)})
    assert len(bomb) < 1 << 20
    with pytest.raises(ProfileFormatError, match=r"values_0\.npy: its stored size does not match"):
        loads(bomb)
    honest = _zip_with({**members, "values_0.npy": _npy_header(10) + b"\x00" * 80})
    assert loads(honest).numeric("x").count == 10


def test_a_member_claiming_1e11_elements_is_refused_without_allocating() -> None:
    lie = _npy_header(10**11) + b"\x00" * 64
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(b'{"format": "' + PROFILE_FORMAT.encode() + b'"}', np.uint8))
    data = _zip_with({"header.npy": buffer.getvalue(), "sample_keys.npy": lie})
    with pytest.raises(ProfileFormatError):
        loads(data)


@pytest.mark.parametrize(
    "data",
    [b"", b"PK\x03\x04", b"x" * 100, b"PK" + os.urandom(300), b"\x93NUMPY" + b"\x00" * 50],
)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(ProfileFormatError):
        loads(data)


def test_profiles_are_read_from_regular_files_only(tmp_path: Path) -> None:
    link = tmp_path / "p.dwprofile"
    link.symlink_to("/dev/zero")
    with pytest.raises(ProfileFormatError, match="regular file"):
        load_profile(link)
    good = tmp_path / "good.dwprofile"
    good.write_bytes(dumps(_profile()))
    assert load_profile(good).rows == 500


def test_the_jobs_run_configuration_is_a_valid_detect_config() -> None:
    """The operator's rendered run configuration (golden ConfigMap) passes `--config` and
    the Job's own bounded reader."""
    import yaml

    from driftwarden.detectors.job.contract import CONFIG_FILE

    root = Path(__file__).parent / "golden"
    configmap = yaml.safe_load((root / "configmap-credit-scoring.yaml").read_text())
    rendered = configmap["data"][CONFIG_FILE].encode()
    settings = parse_config(rendered, source="run.yaml")
    assert [f["name"] for f in settings["features"]]
    assert b"version" in rendered
