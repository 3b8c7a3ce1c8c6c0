"""The catalogues the tests load: Crema's, as the product ships it, and the tiny test
alliance of tests/data/mini.toml (Alfa, Beta, Gamma; Cooperativa A and B)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "data" / "crema.toml"
MINI = ROOT / "tests" / "data" / "mini.toml"
