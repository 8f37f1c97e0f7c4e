"""DoEData: the validated experiments of a project, in canonical column names."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pandas as pd

from core.doe.schema import Schema
from core.profiles import ThermocycleProfile


@dataclass
class DoEData:
    """Usable DoE rows.

    `frame` holds every schema variable (inputs, then CQAs; NaN where blank)
    followed by the columns that are kept but not modelled. Its index is the
    row number in the user's sheet, so every message can point back to it.
    """

    frame: pd.DataFrame
    schema: Schema = field(default_factory=Schema.default)
    source_columns: dict[str, str] = field(default_factory=dict)  # canonical name -> user's header

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def extra_columns(self) -> list[str]:
        modelled = set(self.schema.input_names) | set(self.schema.cqa_names)
        return [c for c in self.frame.columns if c not in modelled]

    @property
    def inputs(self) -> pd.DataFrame:
        """Model inputs; an unused profile entry is 0 as in the paper's encoding (Eq. 4)."""
        x = self.frame[self.schema.input_names].astype(float)
        profile = [c for c in self.schema.profile_names if c in x.columns]
        x[profile] = x[profile].fillna(0.0)
        return x

    @property
    def cqas(self) -> pd.DataFrame:
        """The measured CQAs (NaN where a run did not measure one)."""
        return self.frame[[c for c in self.schema.cqa_names if c in self.frame]].astype(float)

    def cqa(self, name: str) -> pd.Series:
        return self.frame[name].astype(float)

    def cqa_counts(self) -> dict[str, int]:
        return {c: int(self.frame[c].notna().sum()) for c in self.schema.cqa_names}

    def profiles(self) -> list[ThermocycleProfile]:
        rows = self.frame[self.schema.profile_names].to_dict("records")
        return [ThermocycleProfile.from_features(r, self.schema.max_cycles) for r in rows]

    def profile_types(self) -> pd.Series:
        return pd.Series([p.type_name for p in self.profiles()], index=self.frame.index, name="profile_type")

    def to_csv_bytes(self) -> bytes:
        """The data as a CSV in canonical columns (readable back by `load_doe`)."""
        buffer = io.StringIO()
        self.frame.to_csv(buffer, index=False)
        return buffer.getvalue().encode("utf-8")
