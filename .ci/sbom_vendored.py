"""Add the vendored npm packages (from the vendor README's table) to a CycloneDX SBOM, then check
that it holds every runtime dependency pyproject.toml declares and no development tool."""

import json
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

sbom_path, vendor_readme = Path(sys.argv[1]), Path(sys.argv[2])
sbom = json.loads(sbom_path.read_text())
components = sbom.setdefault("components", [])
for package in re.findall(r"^\| [\w-]+ \| (\S+@[\d.]+) \|", vendor_readme.read_text(), re.M):
    name, version = package.rsplit("@", 1)
    purl_name = name.replace("@", "%40")
    components.append({"type": "library", "bom-ref": f"pkg:npm/{purl_name}@{version}",
                       "name": name, "version": version,
                       "purl": f"pkg:npm/{purl_name}@{version}"})
sbom_path.write_text(json.dumps(sbom, indent=2) + "\n")

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
present = {canonicalize_name(c["name"]) for c in components}
declared = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
tools = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["dev"]}
missing = sorted(declared - present)
extra = sorted((tools - declared) & present)
npm = sum(c["purl"].startswith("pkg:npm/") for c in components)
print(f"SBOM: {sbom_path}: {len(components)} components ({npm} vendored npm packages); "
      f"{len(declared)} declared dependencies, missing {missing or 'none'}; "
      f"development tools in it: {extra or 'none'}")
sys.exit(1 if missing or extra or not npm else 0)
