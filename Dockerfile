# secret-rollout as a kustomize KRM function (and the binary for the Argo CD sidecar).
# No base image: a statically linked binary and an /etc/passwd that names `nobody`,
# because kustomize runs every container function with `docker run --user nobody`.
#
#   scripts/build-image secret-rollout:0.1.0
#
# builds the binary (scripts/build-static: statically linked, `--profile dist`, so
# stripped) and then this file; see README "Kustomize" and "Install".
FROM scratch
COPY deploy/image/passwd deploy/image/group /etc/
COPY target/x86_64-unknown-linux-gnu/dist/secret-rollout /usr/local/bin/secret-rollout
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/secret-rollout", "krm"]
