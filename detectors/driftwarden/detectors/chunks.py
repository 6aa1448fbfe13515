"""Rows read at a time, by default: here, apart from the readers, because the command line's
parser needs them and building it must import neither pandas nor pyarrow."""

FILE_CHUNK_ROWS = 1_000_000  # `tables`: the files of `driftwarden detect` and `profile`
SOURCE_CHUNK_ROWS = 100_000  # `sources`: a Job's windows (SQL fetches, files)
#: Rows of a file that decide its column types and kinds (`tables.read_head`; `kinds` says
#: so when a note counts them)
HEAD_ROWS = 10_000
