"""Column names a user passes are each meant once: found in a new-user trial of issue 10."""

from __future__ import annotations

import argparse

import pytest
from pydantic import ValidationError

from driftwarden.detectors.cli import _names
from driftwarden.detectors.config import DetectionSpec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age,age", "named twice: age"),
        ("age, region,age", "named twice: age"),
        ("age,", "an empty column name"),
        (",age", "an empty column name"),
        ("age,,region", "an empty column name"),
        (",", "expected comma-separated column names"),
        ("", "expected comma-separated column names"),
    ],
)
def test_a_column_list_names_each_column_once(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        _names(text)


def test_a_column_list_keeps_its_order() -> None:
    assert _names(" region , age ") == ["region", "age"]


def test_the_prediction_cannot_be_the_label() -> None:
    with pytest.raises(ValidationError, match="the prediction and the label are the same column"):
        DetectionSpec.model_validate(
            {
                "prediction": {"column": "y", "type": "probability"},
                "labels": {"column": "y", "task": "binary"},
            }
        )
    spec = DetectionSpec.model_validate(
        {
            "prediction": {"column": "score", "type": "probability"},
            "labels": {"column": "y", "task": "binary"},
        }
    )
    assert spec.prediction is not None
    assert spec.labels is not None
