"""The datasets the service serves: CSV files read into Arrow tables, one dataset per file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import gfs_runtime as gf
import pyarrow
import pyarrow.csv
import pyarrow.flight


@dataclass(frozen=True)
class Dataset:
    """One named table; its descriptor is the path `[name]`."""

    name: str
    table: pyarrow.Table

    @property
    def descriptor(self) -> pyarrow.flight.FlightDescriptor:
        """The descriptor clients pass to GetFlightInfo for this dataset."""
        return pyarrow.flight.FlightDescriptor.for_path(self.name)


class Catalog:
    """Datasets by name, loaded once at start-up."""

    def __init__(self, datasets: list[Dataset]) -> None:
        self._datasets = {dataset.name: dataset for dataset in datasets}

    @classmethod
    def load(cls, data_dir: Path | None = None) -> Catalog:
        """Read every `*.csv` in `data_dir`, or the samples shipped in this package when it is None."""
        if data_dir is not None:
            files = sorted(data_dir.glob("*.csv"))
            return cls([Dataset(path.stem, pyarrow.csv.read_csv(path)) for path in files])
        samples = resources.files(__package__).joinpath("data")
        datasets = []
        for entry in sorted(samples.iterdir(), key=lambda item: item.name):
            if entry.name.endswith(".csv"):
                with entry.open("rb") as handle:
                    datasets.append(Dataset(entry.name.removesuffix(".csv"), pyarrow.csv.read_csv(handle)))
        return cls(datasets)

    def __iter__(self) -> Iterator[Dataset]:
        return iter(self._datasets.values())

    def find(self, descriptor: pyarrow.flight.FlightDescriptor) -> Dataset:
        """The dataset a descriptor names (a one-element path), or a BAD_ARGUMENT error listing the datasets."""
        path = descriptor.path or []
        name = path[0].decode("utf-8", errors="replace") if len(path) == 1 else None
        dataset = self._datasets.get(name) if name is not None else None
        if dataset is None:
            # the message lists what exists and never echoes the client's input
            raise gf.ErrorInfo.bad_argument(
                "unknown dataset; use a path descriptor naming one of: " + ", ".join(sorted(self._datasets))
            )
        return dataset
