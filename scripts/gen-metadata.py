#!/usr/bin/env python3
"""Cut skuld's `$metadata` document from Microsoft's Graph v1.0 CSDL.

Usage (from the repository root):

    python3 scripts/gen-metadata.py [path/to/graph-v1.0-csdl.xml] [--stdout]

The default input is $SKULD_GRAPH_CSDL, else ../shared/data/graph-v1.0-csdl.xml relative
to the repository root. Output goes to data/graph/metadata.xml (or stdout with --stdout), which the graph
crate compiles in: it is served as `/v1.0/$metadata` and it is the declared-property
model that `$select`, the defaults and the CSDL router test read.

The slice keeps the entity types skuld serves (and their base types), every complex and
enum type their properties reach, the navigation properties skuld serves, the bound
actions skuld serves, and an entity container with skuld's entity sets and singletons.
Annotations (capabilities, descriptions) are dropped. Output is deterministic: types in
source order, one element per line, LF line endings, UTF-8 without BOM. Exits non-zero
when something the slice needs is missing from the input.

Python 3 standard library only.
"""

import os
import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# $SKULD_GRAPH_CSDL overrides the default (a git worktree sits one level deeper).
DEFAULT_CSDL = os.environ.get("SKULD_GRAPH_CSDL") or os.path.join(
    REPO_ROOT, "..", "shared", "data", "graph-v1.0-csdl.xml"
)
OUT = os.path.join(REPO_ROOT, "data", "graph", "metadata.xml")

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
NS = "microsoft.graph"

# Entity types skuld serves, with the navigation properties it serves on each.
SERVED = {
    "entity": [],
    "directoryObject": [],
    "user": ["memberOf", "transitiveMemberOf", "licenseDetails"],
    "group": ["members", "transitiveMembers", "memberOf", "membersWithLicenseErrors"],
    "organization": [],
    "subscribedSku": [],
    "licenseDetails": [],
    "companySubscription": [],
    "directory": ["deletedItems", "subscriptions"],
    "auditLogRoot": ["directoryAudits"],
    "directoryAudit": [],
    "roleManagement": ["directory"],
    "rbacApplication": ["roleAssignments"],
    "unifiedRoleAssignment": [],
}

# Bound actions skuld serves: (name, binding type).
ACTIONS = [
    ("assignLicense", "user"),
    ("assignLicense", "group"),
    ("reprocessLicenseAssignment", "user"),
    ("restore", "directoryObject"),
]

ENTITY_SETS = ["directoryObjects", "groups", "organization", "subscribedSkus", "users"]
SINGLETONS = ["auditLogs", "directory", "roleManagement"]


class SliceError(Exception):
    pass


def local(type_name):
    """`graph.user` / `microsoft.graph.user` / `Collection(graph.x)` -> (`user`, is_graph)."""
    t = type_name
    if t.startswith("Collection(") and t.endswith(")"):
        t = t[len("Collection(") : -1]
    for prefix in ("graph.", NS + "."):
        if t.startswith(prefix) and "." not in t[len(prefix) :]:
            return t[len(prefix) :], True
    return t, False


def attrs(el, names):
    out = []
    for n in names:
        v = el.get(n)
        if v is not None:
            out.append(f"{n}={quoteattr(v)}")
    return " ".join(out)


def generate(csdl_path):
    root = ET.parse(csdl_path).getroot()
    schema = None
    for s in root.iter(EDM + "Schema"):
        if s.get("Namespace") == NS:
            schema = s
            break
    if schema is None:
        raise SliceError(f"no Schema {NS}")

    by_kind = {"EntityType": {}, "ComplexType": {}, "EnumType": {}}
    order = []
    for el in schema:
        tag = el.tag[len(EDM) :]
        if tag in by_kind:
            by_kind[tag][el.get("Name")] = el
            order.append((tag, el.get("Name")))

    entities = set()
    for name in SERVED:
        if name not in by_kind["EntityType"]:
            raise SliceError(f"no EntityType {name}")
        entities.add(name)
    # Base types of served entities must be served too.
    for name in list(entities):
        base = by_kind["EntityType"][name].get("BaseType")
        while base:
            b, _ = local(base)
            if b not in SERVED:
                raise SliceError(f"base type {b} of {name} is not in SERVED")
            base = by_kind["EntityType"][b].get("BaseType")

    complexes, enums = set(), set()
    pending = [by_kind["EntityType"][n] for n in SERVED]

    def reach(type_name):
        name, graph = local(type_name)
        if not graph:
            return
        if name in by_kind["ComplexType"] and name not in complexes:
            complexes.add(name)
            pending.append(by_kind["ComplexType"][name])
        elif name in by_kind["EnumType"]:
            enums.add(name)

    while pending:
        el = pending.pop()
        if el.tag == EDM + "ComplexType":
            base = el.get("BaseType")
            if base:
                reach(base)
            # Derived complex types may appear where the base is declared.
            for cname, cel in by_kind["ComplexType"].items():
                b = cel.get("BaseType")
                if b and local(b)[0] == el.get("Name"):
                    reach(NS + "." + cname)
        for p in el.findall(EDM + "Property"):
            reach(p.get("Type"))
    for name, binding in ACTIONS:
        found = [
            a
            for a in schema.findall(EDM + "Action")
            if a.get("Name") == name
            and any(
                p.get("Name") == "bindingParameter" and local(p.get("Type"))[0] == binding
                for p in a.findall(EDM + "Parameter")
            )
        ]
        if len(found) != 1:
            raise SliceError(f"action {name} bound to {binding}: {len(found)} found")
        for p in found[0].findall(EDM + "Parameter"):
            reach(p.get("Type"))

    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
        "  <edmx:DataServices>",
        f'    <Schema Namespace="{NS}" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
    ]
    for tag, name in order:
        keep = (
            (tag == "EntityType" and name in entities)
            or (tag == "ComplexType" and name in complexes)
            or (tag == "EnumType" and name in enums)
        )
        if not keep:
            continue
        el = by_kind[tag][name]
        lines.append(
            f"      <{tag} {attrs(el, ['Name', 'BaseType', 'Abstract', 'OpenType', 'IsFlags', 'UnderlyingType'])}>"
        )
        key = el.find(EDM + "Key")
        if key is not None:
            lines.append("        <Key>")
            for r in key.findall(EDM + "PropertyRef"):
                lines.append(f"          <PropertyRef {attrs(r, ['Name'])} />")
            lines.append("        </Key>")
        for child in el:
            ctag = child.tag[len(EDM) :]
            if ctag == "Property":
                lines.append(
                    f"        <Property {attrs(child, ['Name', 'Type', 'Nullable'])} />"
                )
            elif ctag == "Member":
                lines.append(f"        <Member {attrs(child, ['Name', 'Value'])} />")
            elif ctag == "NavigationProperty" and child.get("Name") in SERVED.get(name, []):
                target, _ = local(child.get("Type"))
                if target not in entities:
                    raise SliceError(f"{name}/{child.get('Name')} targets unserved {target}")
                lines.append(
                    f"        <NavigationProperty {attrs(child, ['Name', 'Type', 'Nullable', 'ContainsTarget'])} />"
                )
        for nav in SERVED.get(name, []) if tag == "EntityType" else []:
            if not any(
                c.get("Name") == nav for c in el.findall(EDM + "NavigationProperty")
            ):
                raise SliceError(f"no navigation property {name}/{nav}")
        lines.append(f"      </{tag}>")
    for name, binding in ACTIONS:
        for a in schema.findall(EDM + "Action"):
            params = a.findall(EDM + "Parameter")
            if a.get("Name") != name or not any(
                p.get("Name") == "bindingParameter" and local(p.get("Type"))[0] == binding
                for p in params
            ):
                continue
            lines.append(f"      <Action {attrs(a, ['Name', 'IsBound', 'EntitySetPath'])}>")
            for p in params:
                lines.append(f"        <Parameter {attrs(p, ['Name', 'Type', 'Nullable'])} />")
            rt = a.find(EDM + "ReturnType")
            if rt is not None:
                lines.append(f"        <ReturnType {attrs(rt, ['Type', 'Nullable'])} />")
            lines.append("      </Action>")

    container = schema.find(EDM + "EntityContainer")
    if container is None:
        raise SliceError("no EntityContainer")
    lines.append(f"      <EntityContainer {attrs(container, ['Name'])}>")
    served_sets = set(ENTITY_SETS) | set(SINGLETONS)
    for want, tag in [(ENTITY_SETS, "EntitySet"), (SINGLETONS, "Singleton")]:
        for name in want:
            found = [e for e in container.findall(EDM + tag) if e.get("Name") == name]
            if len(found) != 1:
                raise SliceError(f"no {tag} {name}")
            e = found[0]
            type_attr = "EntityType" if tag == "EntitySet" else "Type"
            tname, _ = local(e.get(type_attr))
            if tname not in entities:
                raise SliceError(f"{tag} {name} has unserved type {tname}")
            bindings = [
                b
                for b in e.findall(EDM + "NavigationPropertyBinding")
                if b.get("Path") in SERVED[tname] and b.get("Target") in served_sets
            ]
            if not bindings:
                lines.append(f"        <{tag} {attrs(e, ['Name', type_attr])} />")
                continue
            lines.append(f"        <{tag} {attrs(e, ['Name', type_attr])}>")
            for b in bindings:
                lines.append(f"          <NavigationPropertyBinding {attrs(b, ['Path', 'Target'])} />")
            lines.append(f"        </{tag}>")
    lines.append("      </EntityContainer>")
    lines += ["    </Schema>", "  </edmx:DataServices>", "</edmx:Edmx>", ""]
    return "\n".join(lines)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    to_stdout = "--stdout" in argv[1:]
    path = args[0] if args else DEFAULT_CSDL
    try:
        text = generate(path)
    except (SliceError, OSError, ET.ParseError) as e:
        print(f"gen-metadata: {e}", file=sys.stderr)
        return 1
    if to_stdout:
        sys.stdout.write(text)
        return 0
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT, REPO_ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
