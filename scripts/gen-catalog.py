#!/usr/bin/env python3
"""Generate skuld's product/service-plan catalog from Microsoft's reference CSV.

Usage (from the repository root):

    python3 scripts/gen-catalog.py [path/to/product-service-plans.csv]

The default input is ../shared/data/product-service-plans.csv, relative to the
repository root. Output goes to data/catalog/ (products.tsv, plans.tsv,
product_plans.tsv); the hand-written data/catalog/rules.txt is then checked
against the freshly generated plans. Output is deterministic: rows sorted, LF
line endings, UTF-8 without BOM. Exits non-zero on any inconsistency.

Python 3 standard library only.
"""

import collections
import csv
import hashlib
import os
import re
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CSV = os.path.join("..", "shared", "data", "product-service-plans.csv")
OUT_DIR = os.path.join(REPO_ROOT, "data", "catalog")

EXPECTED_COLUMNS = [
    "Product_Display_Name",
    "String_Id",
    "GUID",
    "Service_Plan_Name",
    "Service_Plan_Id",
    "Service_Plans_Included_Friendly_Names",
]

# Figures from ../shared/docs/licensing-semantics.md §4.2 for the 2025-12-30 copy.
EXPECTED_ROWS = 5457
EXPECTED_STRING_IDS = 568
EXPECTED_PLANS = 723

# Tenant-level capacity/storage add-ons: appliesTo=Company instead of User.
COMPANY_RE = re.compile(
    r"capacity|storage|\bfile\s*storage\b|_FILE_STORAGE|ADDL_STORAGE|overage",
    re.IGNORECASE,
)

GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
FAMILY_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
WS_RE = re.compile(r"\s+")  # str patterns are Unicode-aware: matches \t, \n, \xa0, ...


class CatalogError(Exception):
    pass


def clean(value):
    """Every whitespace run (tab, newline, NBSP, ...) becomes one space; ends trimmed.

    This keeps TSV fields free of tabs/newlines and merges spellings that only
    differ in whitespace (e.g. 'Virtualization \\tRights \\tfor ...').
    """
    return WS_RE.sub(" ", value).strip()


def clean_id(value, what, line):
    v = clean(value).lower()
    if not GUID_RE.match(v):
        raise CatalogError(f"line {line}: {what} is not a GUID: {value!r}")
    return v


def pick_most_frequent(counter):
    """Most frequent value; ties -> lexicographically smallest."""
    return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def is_all_upper(s):
    return s == s.upper() and s != s.lower()


def pick_friendly(counter):
    """Most frequent; ties -> prefer not ALL UPPERCASE; then lexicographically smallest."""
    return min(counter.items(), key=lambda kv: (-kv[1], is_all_upper(kv[0]), kv[0]))[0]


def read_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if [clean(h) for h in header] != EXPECTED_COLUMNS:
            raise CatalogError(f"unexpected header in {path}: {header!r}")
        rows = []
        for line_no, rec in enumerate(reader, start=2):
            if not any(field.strip() for field in rec):
                continue
            if len(rec) != len(EXPECTED_COLUMNS):
                raise CatalogError(f"line {line_no}: expected {len(EXPECTED_COLUMNS)} fields, got {len(rec)}")
            rows.append((line_no, dict(zip(EXPECTED_COLUMNS, rec))))
    return rows


def build(rows):
    display = collections.defaultdict(collections.Counter)
    part = collections.defaultdict(collections.Counter)
    plan_name = collections.defaultdict(collections.Counter)
    plan_friendly = collections.defaultdict(collections.Counter)
    pairs = set()
    for line_no, r in rows:
        sku = clean_id(r["GUID"], "GUID", line_no)
        plan = clean_id(r["Service_Plan_Id"], "Service_Plan_Id", line_no)
        pn = clean(r["String_Id"])
        dn = clean(r["Product_Display_Name"])
        name = clean(r["Service_Plan_Name"])
        friendly = clean(r["Service_Plans_Included_Friendly_Names"])
        for what, v in (("String_Id", pn), ("Product_Display_Name", dn), ("Service_Plan_Name", name)):
            if not v:
                raise CatalogError(f"line {line_no}: empty {what}")
        part[sku][pn] += 1
        display[sku][dn] += 1
        plan_name[plan][name] += 1
        if friendly:
            plan_friendly[plan][friendly] += 1
        pairs.add((sku, plan))

    products = []
    for sku in sorted(part):
        pn = pick_most_frequent(part[sku])
        dn = pick_most_frequent(display[sku])
        applies = "Company" if (COMPANY_RE.search(pn) or COMPANY_RE.search(dn)) else "User"
        products.append((sku, pn, dn, applies))

    plans = []
    for plan in sorted(plan_name):
        name = pick_most_frequent(plan_name[plan])
        friendly = pick_friendly(plan_friendly[plan]) if plan_friendly[plan] else name
        plans.append((plan, name, friendly))

    return products, plans, sorted(pairs), part, display, plan_name, plan_friendly


def write_tsv(path, header, rows):
    for row in rows:
        for field in row:
            if "\t" in field or "\n" in field or "\r" in field:
                raise CatalogError(f"{path}: field contains tab/newline: {field!r}")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("#" + "\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# rules.txt checker. Keep in step with the Rust parser (same grammar):
#   family  <name> <stackable|exclusive> <NAME:guid>=<rank> ...   (>= 2 members)
#   depends <NAME:guid> <NAME:guid> [<NAME:guid> ...]               (first needs any one of the rest)
#   prohibit <NAME:guid> <CC> [<CC> ...]                            (ISO 3166-1 alpha-2, uppercase)
# Blank lines and lines whose first non-blank character is '#' are ignored.
# ---------------------------------------------------------------------------


def check_rules(path, plans_by_id):
    if not os.path.exists(path):
        raise CatalogError(f"{path} is missing (it is hand-written, not generated)")
    errors = []
    counts = collections.Counter()
    family_names = set()
    family_of_plan = {}
    depends_seen = set()
    prohibit_seen = {}

    def plan_ref(tok, line_no):
        name, sep, guid = tok.rpartition(":")
        if not sep or not name:
            errors.append(f"{path}:{line_no}: expected NAME:plan-guid, got {tok!r}")
            return None
        if not GUID_RE.match(guid):
            errors.append(f"{path}:{line_no}: {tok!r}: {guid!r} is not a lowercase GUID")
            return None
        if guid not in plans_by_id:
            errors.append(f"{path}:{line_no}: {tok!r}: unknown plan id {guid} (not in plans.tsv)")
            return None
        expected = plans_by_id[guid]
        if name != expected:
            errors.append(f"{path}:{line_no}: {tok!r}: plan {guid} is named {expected!r} in plans.tsv, not {name!r}")
            return None
        return guid

    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "\r" in text:
        errors.append(f"{path}: contains CR characters; use LF line endings")
    for line_no, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        toks = stripped.split()
        kind, args = toks[0], toks[1:]
        if kind == "family":
            if len(args) < 4:
                errors.append(f"{path}:{line_no}: family needs a name, a mode and at least two members")
                continue
            fam, mode, members = args[0], args[1], args[2:]
            if not FAMILY_NAME_RE.match(fam):
                errors.append(f"{path}:{line_no}: bad family name {fam!r}")
            if fam in family_names:
                errors.append(f"{path}:{line_no}: family {fam!r} defined twice")
            family_names.add(fam)
            if mode not in ("stackable", "exclusive"):
                errors.append(f"{path}:{line_no}: family mode must be stackable or exclusive, got {mode!r}")
            ranks = set()
            for m in members:
                ref, eq, rank = m.rpartition("=")
                if not eq or not rank.isdigit() or int(rank) < 1:
                    errors.append(f"{path}:{line_no}: expected NAME:guid=<rank >= 1>, got {m!r}")
                    continue
                if int(rank) in ranks:
                    errors.append(f"{path}:{line_no}: rank {rank} used twice in family {fam!r}")
                ranks.add(int(rank))
                guid = plan_ref(ref, line_no)
                if guid is None:
                    continue
                if guid in family_of_plan:
                    errors.append(f"{path}:{line_no}: plan {ref} already belongs to family {family_of_plan[guid]!r}")
                family_of_plan[guid] = fam
            counts["family"] += 1
        elif kind == "depends":
            if len(args) < 2:
                errors.append(f"{path}:{line_no}: depends needs a plan and at least one prerequisite")
                continue
            guids = [plan_ref(a, line_no) for a in args]
            if None in guids:
                continue
            if guids[0] in guids[1:]:
                errors.append(f"{path}:{line_no}: plan depends on itself")
            if len(set(guids[1:])) != len(guids[1:]):
                errors.append(f"{path}:{line_no}: duplicate prerequisite")
            key = (guids[0], tuple(sorted(guids[1:])))
            if key in depends_seen:
                errors.append(f"{path}:{line_no}: duplicate depends rule")
            depends_seen.add(key)
            counts["depends"] += 1
        elif kind == "prohibit":
            if len(args) < 2:
                errors.append(f"{path}:{line_no}: prohibit needs a plan and at least one country code")
                continue
            guid = plan_ref(args[0], line_no)
            for cc in args[1:]:
                if not COUNTRY_RE.match(cc):
                    errors.append(f"{path}:{line_no}: {cc!r} is not an uppercase ISO 3166-1 alpha-2 code")
                elif guid is not None:
                    if (guid, cc) in prohibit_seen:
                        errors.append(f"{path}:{line_no}: {args[0]} {cc} already prohibited on line {prohibit_seen[(guid, cc)]}")
                    prohibit_seen[(guid, cc)] = line_no
            counts["prohibit"] += 1
        else:
            errors.append(f"{path}:{line_no}: unknown directive {kind!r}")
    if errors:
        raise CatalogError("rules.txt check failed:\n  " + "\n  ".join(errors))
    return counts


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv):
    # An explicit path is relative to the caller's cwd; the default is relative to the repo root.
    src = os.path.abspath(argv[1]) if len(argv) > 1 else DEFAULT_CSV
    os.chdir(REPO_ROOT)
    if not os.path.exists(src):
        raise CatalogError(f"input CSV not found: {src}")
    rows = read_rows(src)
    products, plans, pairs, part, display, plan_name, plan_friendly = build(rows)

    os.makedirs(OUT_DIR, exist_ok=True)
    write_tsv(os.path.join(OUT_DIR, "products.tsv"), ["sku_id", "part_number", "display_name", "applies_to"], products)
    write_tsv(os.path.join(OUT_DIR, "plans.tsv"), ["plan_id", "name", "friendly_name"], plans)
    write_tsv(os.path.join(OUT_DIR, "product_plans.tsv"), ["sku_id", "plan_id"], pairs)

    err = sys.stderr
    company = [p for p in products if p[3] == "Company"]
    print(f"Company (tenant-level) products, {len(company)} - matched {COMPANY_RE.pattern!r}:", file=err)
    for sku, pn, dn, _ in sorted(company, key=lambda p: p[1]):
        print(f"  {pn:<50} {sku}  {dn}", file=err)

    # Quirks worth knowing about, so a new CSV drop does not surprise anyone.
    by_part = collections.defaultdict(list)
    for sku, pn, _, _ in products:
        by_part[pn].append(sku)
    for pn, skus in sorted(by_part.items()):
        if len(skus) > 1:
            print(f"note: part number {pn} maps to {len(skus)} SKU ids: {', '.join(skus)}", file=err)
    for what, counters in (("part number", part), ("display name", display), ("plan name", plan_name)):
        for key in sorted(counters):
            if len(counters[key]) > 1:
                print(f"note: {what} spellings for {key}: {dict(sorted(counters[key].items()))}", file=err)
    multi_friendly = sum(1 for c in plan_friendly.values() if len(c) > 1)

    plans_by_id = {pid: name for pid, name, _ in plans}
    ws_names = sorted(n for n in plans_by_id.values() if re.search(r"\s|:", n))

    rules_counts = check_rules(os.path.join(OUT_DIR, "rules.txt"), plans_by_id)

    string_ids = len(by_part)
    summary = [
        ("source", src),
        ("source sha256", sha256_file(src)),
        ("rows", len(rows)),
        ("distinct String_Id (part numbers)", string_ids),
        ("products (distinct skuId)", len(products)),
        ("  of which applies_to=Company", len(company)),
        ("plans (distinct servicePlanId)", len(plans)),
        ("  with >1 friendly-name spelling", multi_friendly),
        ("  whose name cannot appear in rules.txt (space or ':')", len(ws_names)),
        ("product_plans pairs", len(pairs)),
        ("rules.txt", ", ".join(f"{k}={rules_counts[k]}" for k in ("family", "depends", "prohibit"))),
    ]
    print("summary:")
    for k, v in summary:
        print(f"  {k}: {v}")

    problems = []
    if len(rows) != EXPECTED_ROWS:
        problems.append(f"rows {len(rows)} != {EXPECTED_ROWS}")
    if string_ids != EXPECTED_STRING_IDS:
        problems.append(f"String_Ids {string_ids} != {EXPECTED_STRING_IDS}")
    if len(plans) != EXPECTED_PLANS:
        problems.append(f"plans {len(plans)} != {EXPECTED_PLANS}")
    if problems:
        # A newer CSV drop legitimately changes these; warn, don't fail.
        print("warning: counts differ from ../shared/docs/licensing-semantics.md §4.2 (2025-12-30 copy): " + "; ".join(problems), file=err)
    else:
        print("  counts match the rulebook (§4.2): 5457 rows, 568 String_Ids, 723 plans")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except CatalogError as e:
        print(f"gen-catalog: error: {e}", file=sys.stderr)
        sys.exit(1)
