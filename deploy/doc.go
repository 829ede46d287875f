// Package deploy holds the Kubernetes manifests of rhombus-bridge (a Kustomize base in
// base/ and an example overlay in overlays/example) and the CI checks that decode every
// manifest strictly into the Kubernetes API types (k8s.io/api, unknown fields and unknown
// kinds rejected) and verify what an operator relies on: replicas, rolling updates,
// probes, the security context, the disruption budget, and a configuration the bridge
// itself accepts. Compose, .env.example and Dockerfile checks live in deploy/composetest.
//
// It has no code of its own; run it with `go test ./deploy`.
package deploy
