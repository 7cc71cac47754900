"""Install a chart with the Helm 4 SDK (helm-python-sdk) and a post-renderer
plugin, client-side dry run, and print the result as JSON on stdout.

    python sdk_install.py CHART VALUES_FILE STRATEGY [POST_RENDERER_ARG...]

STRATEGY is combined, separate or nohooks (Helm's post_render_strategy).
The post-renderer plugin is `secret-rollout`, found through HELM_PLUGINS,
which must be in the environment before this process starts (Helm reads it
when the library loads). Output: {"ok": true, "manifest": ..., "hooks": [...]}
or {"ok": false, "error": "..."}.
"""

import json
import sys

import helm_python as helm
from helm_python import _native
from helm_python.config import _NONE


def main() -> int:
    chart_path, values_file, strategy, *pr_args = sys.argv[1:]
    values = helm.values_from_yaml(open(values_file, encoding="utf-8").read())
    chart = helm.Chart.load(chart_path)
    options = {
        "namespace": "the0",
        "dry_run": "client",
        "post_renderer": "secret-rollout",
        "post_renderer_args": pr_args,
        "post_render_strategy": strategy,
    }
    with helm.Config(namespace="the0", storage_driver="memory") as cfg:
        try:
            payload = _native.call_string(
                "helm_install",
                cfg._raw(),
                _native.HANDLE(_NONE),
                chart._raw(),
                None,
                "the0",
                json.dumps(values),
                json.dumps(options),
            )
        except helm.HelmError as e:
            json.dump({"ok": False, "error": str(e)}, sys.stdout)
            return 0
    release = json.loads(payload)
    json.dump(
        {
            "ok": True,
            "manifest": release.get("manifest", ""),
            "hooks": release.get("hooks") or [],
            "release": {k: v for k, v in release.items() if k not in ("manifest", "hooks", "chart")},
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
