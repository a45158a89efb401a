"""
Elastic prebuilt rules against documents the live sensor wrote.

Takes: the reference rules (../shared/reference/elastic-detection-rules/rules:
linux/ and cross-platform/) and one or more NDJSON files of ECS documents the
sensor wrote (collect.sh). Gives: one line per rule, WORKS / VALUE MISMATCH /
MISSING FIELDS / OUT OF SCOPE with the reason, the totals, and which rules
fired on the documents; `--json` writes the same as data.

Evaluation is Elastic's: EQL rules are parsed and run by the `eql` package
(Elastic's EQL reference implementation, Elasticsearch syntax); kuery rules are
turned into the same EQL by kql.py and run the same way. One Elasticsearch
semantic the Python engine lacks is added: a multi-valued field (event.type,
process.args, …) matches when any of its values does.

What each class means:
- WORKS: every field the rule needs a value of is one our documents carry, and
  the rule's vocabulary (event.category/type/action/kind/outcome, host.os.type,
  datasets) is satisfiable by some document of ours: with every other test left
  free, each of the rule's event queries matches at least one document. The
  rule can match our documents; whether it does depends on behaviour.
- VALUE MISMATCH: the fields are there but no document has the vocabulary the
  rule asks for (for example event.action "exec" when we write "execve").
- MISSING FIELDS: the rule needs a value of a field no document carries.
- OUT OF SCOPE: the rule reads another source (cloud, syslog, Defend alerts),
  another OS only, or has no offline evaluator (ES|QL, ML).
"""
import argparse
import collections
import glob
import itertools
import json
import os
import re
import sys
import tomllib

import eql
from eql import ast as A
from eql.engine import Scope
from eql.parser import elasticsearch_syntax, ignore_missing_functions, skip_optimizations

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kql import kql_to_eql, KqlUnsupported  # noqa: E402

# Index patterns of host process/file/network data: a rule reading none of them
# reads another source.
HOST_INDEXES = ("logs-endpoint.events.", "endgame-", "auditbeat-", "logs-auditd_manager.auditd",
                "logs-crowdstrike.fdr", "logs-sentinel_one_cloud_funnel.", "logs-m365_defender.event",
                "logs-cloud_defend.", "logs-ebpf_sensor.")
# Fields whose values are a source's vocabulary rather than behaviour.
VOCABULARY = {"event.action", "event.category", "event.type", "event.kind", "event.outcome", "host.os.type",
              "event.dataset", "event.module", "data_stream.dataset", "event.provider"}
# Fields another source writes: a rule that needs them reads that source.
FOREIGN_PREFIXES = ("auditd.", "endgame.", "cloud_defend.", "crowdstrike.", "sentinel_one.", "m365_defender.",
                    "aws.", "azure.", "gcp.", "okta.", "github.", "kubernetes.audit.", "system.auth.", "ml_",
                    "Effective_process.", "Target.", "Endpoint.", "Memory_protection.", "Ransomware.", "Responses.")
ARRAY_FUNCS = {"length", "arrayContains", "arraySearch", "arrayCount"}


# ---- documents ---------------------------------------------------------------

def flatten(d, prefix="", out=None):
    out = {} if out is None else out
    for k, v in d.items():
        key = prefix + k
        if isinstance(v, dict):
            flatten(v, key + ".", out)
        else:
            out[key] = v
    return out


def load_docs(paths):
    docs = []
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line.startswith("{"):
                    docs.append(json.loads(line))
    return docs


def apply_aliases(docs, path):
    """The field aliases the sensor's index template installs (schemas/elastic-defend-aliases.json):
    in Elasticsearch a query on the alias reads its target, so each document gets the alias's value."""
    with open(path, encoding="utf-8") as fh:
        aliases = json.load(fh)["aliases"]
    for d in docs:
        flat = flatten(d)
        for name, target in aliases.items():
            if target in flat:
                cur = d
                parts = name.split(".")
                for k in parts[:-1]:
                    cur = cur.setdefault(k, {})
                cur[parts[-1]] = flat[target]
    return aliases


def doc_time(d):
    # @timestamp is ISO-8601 with nanoseconds: ns since the epoch, for maxspan.
    from datetime import datetime, timezone
    ts = d.get("@timestamp", "1970-01-01T00:00:00.000000000Z")
    base, frac = ts[:19], ts[20:-1] if "." in ts else "0"
    s = int(datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())
    return s * 1_000_000_000 + int((frac + "000000000")[:9])


def to_events(docs):
    evs = []
    for d in docs:
        t = doc_time(d)
        cats = d.get("event", {}).get("category") or ["any"]
        for c in cats if isinstance(cats, list) else [cats]:
            evs.append(eql.Event(c, t, d))
    evs.sort(key=lambda e: e.time)
    return evs


# ---- Elasticsearch's multi-value semantics on top of the eql engine -----------

def _direct_fields(node):
    if isinstance(node, A.Comparison):
        kids = [node.left, node.right]
    elif isinstance(node, A.InSet):
        kids = [node.expression]
    elif isinstance(node, A.FunctionCall):
        kids = list(node.arguments)
    else:
        kids = []
    return [k for k in kids if isinstance(k, A.Field)]


def _with_value(data, path, value):
    new = dict(data)
    cur = new
    for k in path[:-1]:
        nxt = cur.get(k)
        nxt = dict(nxt) if isinstance(nxt, dict) else {}
        cur[k] = nxt
        cur = nxt
    cur[path[-1]] = value
    return new


_FUNCTION_NAMES = {n.lower(): n for n in eql.functions._registry}
BOOLEAN_FUNCS = {"startswith", "endswith", "stringcontains", "cidrmatch", "wildcard", "match", "matchlite",
                 "arraycontains", "arraysearch"}


def _two_valued(cb, not_equal):
    # Elasticsearch runs each test as a query: a document without the field does
    # not match it, so `not (field == "x")` matches that document, and `!=` is
    # `must_not` of the term (it matches too). The Python engine's three-valued
    # null would make all of them false.
    if not_equal:
        return lambda scope: True if (r := cb(scope)) is None else bool(r)
    return lambda scope: bool(cb(scope))


class ElasticEngine(eql.PythonEngine):
    """The eql engine where a test of a multi-valued field holds when it holds for any value."""

    def _convert_function_call(self, node):
        # Elasticsearch reads function names without regard to case (`cidrmatch`).
        name = _FUNCTION_NAMES.get(node.name.lower())
        if name and name != node.name:
            node = A.FunctionCall(name, node.arguments, as_method=node.as_method)
        return super()._convert_function_call(node)

    def convert(self, node, *args, **kwargs):
        if kwargs.get("scoped") and isinstance(node, (A.Comparison, A.InSet, A.FunctionCall)):
            # Scope the wrapped test ourselves: the engine's scoping would sit inside it.
            piped = kwargs.get("piped", False)
            inner = self.convert(node, *args, **{k: v for k, v in kwargs.items() if k not in ("scoped", "piped")})
            if piped:
                return lambda events: inner(Scope(events, []))
            return lambda event: inner(Scope([event], []))
        base = super().convert(node, *args, **kwargs)
        if not isinstance(node, (A.Comparison, A.InSet, A.FunctionCall)):
            return base
        if isinstance(node, A.FunctionCall) and node.name.lower() not in BOOLEAN_FUNCS:
            return base
        base = _two_valued(base, isinstance(node, A.Comparison) and node.comparator == A.Comparison.NE)
        if isinstance(node, A.FunctionCall) and node.name in ARRAY_FUNCS:
            return base
        fields = _direct_fields(node)
        if not fields:
            return base
        getters = [([f.base] + list(f.path), super(ElasticEngine, self).convert(f)) for f in fields]

        def any_value(scope):
            lists = [(path, v) for path, g in getters for v in [g(scope)] if isinstance(v, list)]
            if not lists:
                return base(scope)
            ev = scope.events[0]
            for combo in itertools.product(*[v or [None] for _, v in lists]):
                data = ev.data
                for (path, _), x in zip(lists, combo):
                    data = _with_value(data, path, x)
                s = type(scope)([eql.Event(ev.type, ev.time, data)] + list(scope.events[1:]), scope.variables)
                if base(s):
                    return True
            return False

        return any_value


def run_query(query, events):
    out = []
    eng = ElasticEngine({"time_unit": 1_000_000_000})
    eng.add_query(query)
    eng.add_output_hook(lambda r: out.append(r))
    eng.stream_events(events, finalize=True)
    return len(out)


# ---- analysis of a query ----------------------------------------------------

def field_name(f):
    return ".".join([f.base] + [str(p) for p in f.path])


def fields_by_polarity(node, positive=True, out=None):
    """(field, optional?, positive?) for every field the query tests."""
    out = [] if out is None else out
    if isinstance(node, A.Not):
        fields_by_polarity(node.term, not positive, out)
        return out
    if isinstance(node, A.Field):
        out.append((field_name(node), False, positive))
        return out
    if isinstance(node, (A.IsNull,)):
        positive = not positive
    for _, child in node.iter_slots():
        if isinstance(child, A.BaseNode):
            fields_by_polarity(child, positive, out)
        elif isinstance(child, (list, tuple)):
            for c in child:
                if isinstance(c, A.BaseNode):
                    fields_by_polarity(c, positive, out)
    return out


def leaf_fields(node):
    return {n for n, _, _ in fields_by_polarity(node)}


def relax(node, positive=True):
    """Keep the tests on vocabulary fields; every other test becomes whatever lets the query match."""
    if isinstance(node, A.And):
        return A.And([relax(t, positive) for t in node.terms])
    if isinstance(node, A.Or):
        return A.Or([relax(t, positive) for t in node.terms])
    if isinstance(node, A.Not):
        return A.Not(relax(node.term, not positive))
    if isinstance(node, (A.Comparison, A.InSet, A.FunctionCall, A.IsNull, A.IsNotNull, A.Field)):
        names = leaf_fields(node)
        if names and names <= VOCABULARY:
            return node
        if names & VOCABULARY:
            return node
        return A.Boolean(positive)
    return node


def event_queries(q):
    """Every event query of a query: the query itself, or each term of a sequence/sample/join."""
    first = q.first if isinstance(q, A.PipedQuery) else q
    if isinstance(first, A.EventQuery):
        return [first]
    out = []
    for attr in ("queries",):
        for sub in getattr(first, attr, []) or []:
            out.append(sub.query)
    until = getattr(first, "close", None)
    return out


# ---- classification -----------------------------------------------------------

RUNS = re.compile(r"\s+with\s+runs\s*=\s*(\d+)")


def expand_runs(text):
    """`[term] with runs=N` → the term N times: what Elasticsearch documents it to mean
    (eql 1.0.1's grammar predates the shorthand). The term is the bracketed query
    before it with its `by` keys."""
    while True:
        m = RUNS.search(text)
        if not m:
            return text
        # back to the '[' that opens the term (brackets inside strings are left alone)
        depth, i, quote = 0, m.start() - 1, None
        close = text.rfind("]", 0, m.start())
        i = close
        while i >= 0:
            c = text[i]
            if quote:
                if c == quote and text[i - 1] != "\\":
                    quote = None
            elif c in "\"'":
                quote = c
            elif c == "]":
                depth += 1
            elif c == "[":
                depth -= 1
                if depth == 0:
                    break
            i -= 1
        term = text[i:m.start()]
        text = text[:i] + "\n".join([term] * int(m.group(1))) + text[m.end():]


def parse(rule):
    lang = rule.get("language")
    text = rule["query"]
    if lang == "kuery":
        text = "any where " + kql_to_eql(text)
    else:
        text = expand_runs(text)
    # Without the parser's optimizer: it folds `f == "a" and f == "b"` to false,
    # which holds for one value but not for a multi-valued field (process.args).
    with elasticsearch_syntax, ignore_missing_functions, skip_optimizations:
        return eql.parse_query(text)


def classify(rule, present, events, cats_present):
    lang = rule.get("language")
    rtype = rule.get("type")
    if lang not in ("eql", "kuery") or rtype == "machine_learning":
        return "OUT OF SCOPE", "{} rule: no offline evaluator".format(lang or rtype), False
    idx = rule.get("index") or []
    if idx and not any(i.startswith(h) for i in idx for h in HOST_INDEXES):
        return "OUT OF SCOPE", "reads " + ", ".join(idx), False
    try:
        q = parse(rule)
    except KqlUnsupported as e:
        return "OUT OF SCOPE", "KQL: " + str(e), False
    except eql.EqlError as e:
        return "OUT OF SCOPE", "the eql parser refuses it: " + str(e).splitlines()[0], False
    optional = set(re.findall(r"\?([A-Za-z_@][\w.@]*)", rule["query"]))
    fields = [(n, n in optional, pos) for n, _, pos in fields_by_polarity(q.first if isinstance(q, A.PipedQuery) else q)]
    names = {n for n, _, _ in fields}
    foreign = sorted(n for n in names if n.startswith(FOREIGN_PREFIXES))
    if foreign:
        return "OUT OF SCOPE", "fields of another source: " + ", ".join(foreign[:4]), False
    datasets = values_required(q, ("event.dataset", "data_stream.dataset", "event.module"))
    if datasets and not any(v.startswith(("endpoint", "ebpf_sensor")) for v in datasets):
        return "OUT OF SCOPE", "reads the dataset " + "/".join(sorted(datasets)), False
    oses = values_required(q, ("host.os.type",))
    if oses is not None and "linux" not in oses:
        return "OUT OF SCOPE", "host.os.type " + "/".join(sorted(oses)), False
    fired = run_query(q, events) > 0
    missing = sorted({n for n, optional, positive in fields if positive and not optional and n not in present})
    if missing:
        return "MISSING FIELDS", ", ".join(missing), fired
    for eq in event_queries(q):
        et = eq.event_type
        if et != "any" and et not in cats_present:
            return "VALUE MISMATCH", "no {} events".format(et), fired
        relaxed = A.PipedQuery(A.EventQuery(et, relax(eq.query)), [])
        if run_query(relaxed, events) == 0:
            vocab = sorted(n for n in leaf_fields(eq.query) if n in VOCABULARY)
            return "VALUE MISMATCH", "no document has the {} this asks for".format("/".join(vocab) or "values"), fired
    return "WORKS", "", fired


def values_required(q, names):
    """The string values a query requires positively of these fields, or None."""
    vals = set()

    def walk(node, positive=True):
        if isinstance(node, A.Not):
            return walk(node.term, not positive)
        if positive and isinstance(node, A.Comparison) and isinstance(node.left, A.Field) and field_name(node.left) in names and isinstance(node.right, A.String):
            vals.add(node.right.value.lower())
        if positive and isinstance(node, A.InSet) and isinstance(node.expression, A.Field) and field_name(node.expression) in names:
            vals.update(str(x.value).lower() for x in node.container)
        if positive and isinstance(node, A.FunctionCall) and node.arguments and isinstance(node.arguments[0], A.Field) and field_name(node.arguments[0]) in names:
            vals.update(str(x.value).lower() for x in node.arguments[1:] if isinstance(x, A.String))
        for _, child in node.iter_slots():
            if isinstance(child, A.BaseNode):
                walk(child, positive)
            elif isinstance(child, (list, tuple)):
                for c in child:
                    if isinstance(c, A.BaseNode):
                        walk(c, positive)

    walk(q)
    return vals or None


def rule_files(root, only=None):
    files = sorted(glob.glob(os.path.join(root, "linux", "*.toml")) + glob.glob(os.path.join(root, "cross-platform", "*.toml")))
    if only:
        files = [f for f in files if os.path.basename(f) in only or os.path.splitext(os.path.basename(f))[0] in only]
    return files


def rule_fields(rule):
    """Every field a parsed rule names (empty when it does not parse)."""
    try:
        q = parse(rule)
    except (KqlUnsupported, eql.EqlError):
        return set()
    return leaf_fields(q.first if isinstance(q, A.PipedQuery) else q)


def ecs_field_names(path):
    # Every field of ecs_flat.yml is a top-level key of the file.
    with open(path, encoding="utf-8") as fh:
        return {m.group(1) for m in re.finditer(r"^([A-Za-z@][\w.@]*):\s*$", fh.read(), re.M)}


def field_table(results, rules_by_name, docs, ecs_path, aliases):
    """The fields the Linux rules that read Elastic Defend's streams name, and who fills them."""
    counts = collections.Counter()
    for d in docs:
        counts.update(flatten(d).keys())
    ecs = ecs_field_names(ecs_path) if ecs_path else set()
    named = collections.Counter()
    for r in results:
        rule = rules_by_name[r["rule"]]
        if r["class"] == "OUT OF SCOPE" or not any(i.startswith("logs-endpoint.events.") for i in rule.get("index") or []):
            continue
        named.update(rule_fields(rule))
    print("{:<48} {:>5} {:>8} {:>4}".format("field (named by in-scope rules reading logs-endpoint.events.*)", "rules", "our docs", "ECS"))
    for f, n in sorted(named.items(), key=lambda x: (-x[1], x[0])):
        alias = " (alias of {})".format(aliases[f]) if f in aliases else ""
        print("{:<48} {:>5} {:>8} {:>4}{}".format(f, n, counts.get(f, 0), "yes" if f in ecs else "no" if ecs else "?", alias))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", required=True, help="the rules/ folder of the reference copy")
    ap.add_argument("--docs", required=True, nargs="+", help="NDJSON files of ECS documents")
    ap.add_argument("--rule", action="append", help="only these rule files (name or name.toml)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--quiet", action="store_true", help="totals only")
    ap.add_argument("--aliases", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "elastic-defend-aliases.json"),
                    help="field aliases the sensor's index template installs (default: the repository's); '' for none")
    ap.add_argument("--fields", metavar="ECS_FLAT", nargs="?", const="", default=None,
                    help="then list every field the in-scope rules reading Defend's streams name, how many rules, "
                         "how many of our documents carry it and (given ecs_flat.yml) whether ECS defines it")
    a = ap.parse_args()

    docs = load_docs(a.docs)
    aliases = apply_aliases(docs, a.aliases) if a.aliases else {}
    present = set()
    cats = set()
    for d in docs:
        present.update(flatten(d).keys())
        c = d.get("event", {}).get("category") or []
        cats.update(c if isinstance(c, list) else [c])
    events = to_events(docs)
    totals = collections.Counter()
    results = []
    rules_by_name = {}
    for f in rule_files(a.rules, a.rule):
        r = tomllib.load(open(f, "rb"))["rule"]
        rules_by_name[os.path.relpath(f, a.rules)] = r
        try:
            cls, why, fired = classify(r, present, events, cats)
        except Exception as e:  # a rule the engine cannot run is reported, never skipped
            cls, why, fired = "OUT OF SCOPE", "the eql engine cannot run it: {}".format(str(e).splitlines()[0] if str(e) else type(e).__name__), False
        totals[cls] += 1
        if fired:
            totals["FIRED"] += 1
        name = os.path.relpath(f, a.rules)
        results.append({"rule": name, "name": r.get("name"), "class": cls, "reason": why, "fired": fired})
        if not a.quiet:
            print("{:<15} {}{}{}".format(cls, name, " [fired]" if fired else "", " — " + why if why else ""))
    print("documents: {}   rules: {}".format(len(docs), len(results)))
    print("totals: " + "  ".join("{} {}".format(k, totals[k]) for k in ("WORKS", "VALUE MISMATCH", "MISSING FIELDS", "OUT OF SCOPE")) + "   fired on these documents: {}".format(totals["FIRED"]))
    if a.fields is not None:
        field_table(results, rules_by_name, docs, a.fields, aliases)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"totals": totals, "results": results}, fh, indent=1)


if __name__ == "__main__":
    main()
