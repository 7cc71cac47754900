#!/usr/bin/env python3
"""Validate HelmReleases against the HelmRelease v2 CRD's openAPIV3Schema.

  validate_helmrelease.py CRD.yaml OBJECTS.json

OBJECTS.json is what `kubectl patch --local … -o json` prints for the
HelmRelease file (one JSON object per HelmRelease, concatenated): the object
as the API server would receive it. The CRD's schema leaves
`additionalProperties` open, so keys it does not know are also looked for
under spec.postRenderers, where the API server would prune them silently.

Prints one line per problem and "ok: N HelmRelease(s)" when there are none.
"""

import json
import sys

import jsonschema
import yaml


def schema_of(crd_path):
    with open(crd_path) as f:
        crd = yaml.safe_load(f)
    for version in crd["spec"]["versions"]:
        if version["name"] == "v2":
            return version["schema"]["openAPIV3Schema"]
    sys.exit("the CRD serves no v2")


def unknown_keys(value, schema, path):
    """Keys the schema does not declare, anywhere below `path`."""
    out = []
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        for key, sub in value.items():
            if key not in props:
                out.append(f"{path}.{key}: not in the schema")
            else:
                out.extend(unknown_keys(sub, props[key], f"{path}.{key}"))
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out.extend(unknown_keys(item, schema["items"], f"{path}[{i}]"))
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
    schema = schema_of(sys.argv[1])
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    validator = cls(schema, format_checker=jsonschema.FormatChecker())
    problems = []
    count = 0
    for obj in objects(sys.argv[2]):
        if obj.get("kind") != "HelmRelease":
            continue
        count += 1
        name = obj["metadata"]["name"]
        for error in validator.iter_errors(obj):
            where = ".".join(str(p) for p in error.absolute_path)
            problems.append(f"{name}: {where}: {error.message}")
        spec_schema = schema["properties"]["spec"]["properties"]["postRenderers"]
        for p in unknown_keys(obj["spec"].get("postRenderers", []), spec_schema, "spec.postRenderers"):
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
