#!/usr/bin/env python3
"""Validate HelmReleases against the HelmRelease v2 schema.

  validate_helmrelease.py OBJECTS.json

The schema is the one of `cloudcoil-models-fluxcd` (models generated from
Flux's CRDs, installed by scripts/install-test-tools): its `HelmRelease`
JSON schema. OBJECTS.json is what `kubectl patch --local … -o json` prints
for the HelmRelease file (one JSON object per HelmRelease, concatenated):
the object as the API server would receive it. The schema leaves unknown
keys open, so keys it does not declare are also looked for under
spec.postRenderers, where the API server would prune them silently.

Prints one line per problem and "ok: N HelmRelease(s)" when there are none.
"""

import json
import sys

import jsonschema
from cloudcoil.models.fluxcd.helm import v2


def resolve(schema, root):
    """Follow `$ref` and the `anyOf: [X, null]` that optional fields get."""
    while True:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = root["$defs"][name]
        elif "anyOf" in schema:
            real = [s for s in schema["anyOf"] if s.get("type") != "null"]
            if len(real) != 1:
                return schema
            schema = real[0]
        else:
            return schema


def unknown_keys(value, schema, root, path):
    """Keys the schema does not declare, anywhere below `path`."""
    schema = resolve(schema, root)
    out = []
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        for key, sub in value.items():
            if key not in props:
                out.append(f"{path}.{key}: not in the schema")
            else:
                out.extend(unknown_keys(sub, props[key], root, f"{path}.{key}"))
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out.extend(unknown_keys(item, schema["items"], root, f"{path}[{i}]"))
    return out


def objects(path):
    text = open(path).read()
    decoder = json.JSONDecoder()
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return
        obj, at = decoder.raw_decode(text, at)
        yield obj


def main():
    schema = v2.HelmRelease.model_json_schema(by_alias=True)
    validator = jsonschema.Draft202012Validator(schema)
    spec = resolve(schema["properties"]["spec"], schema)
    post_renderers = spec["properties"]["postRenderers"]
    problems = []
    count = 0
    for obj in objects(sys.argv[1]):
        if obj.get("kind") != "HelmRelease":
            continue
        count += 1
        name = obj["metadata"]["name"]
        for error in validator.iter_errors(obj):
            where = ".".join(str(p) for p in error.absolute_path)
            problems.append(f"{name}: {where}: {error.message}")
        found = obj["spec"].get("postRenderers", [])
        for p in unknown_keys(found, post_renderers, schema, "spec.postRenderers"):
            problems.append(f"{name}: {p}")
    for p in problems:
        print(p)
    if count == 0:
        print("no HelmRelease in the input")
        sys.exit(1)
    if not problems:
        print(f"ok: {count} HelmRelease(s)")
    sys.exit(1 if problems else 0)


main()
