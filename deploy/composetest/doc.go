// Package composetest holds the CI checks of the repository's shipping files that are not
// Kubernetes manifests: docker-compose.yml (loaded with the real compose-spec loader, schema
// validation and consistency checks on, no network), .env.example (every setting the bridge
// reads, and nothing it does not), and the Dockerfile (the properties the image promises).
//
// It has no code of its own; run it with `go test ./deploy/composetest`.
package composetest
