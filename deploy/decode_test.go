package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kustomization is the subset of kustomize.config.k8s.io/v1beta1 Kustomization these
// manifests use; decoding is strict, so a new field must be added here on purpose.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// object is one decoded manifest document.
type object struct {
	File   string
	Kind   string // apiVersion/kind
	Value  any    // *appsv1.Deployment, *corev1.Service, ...
	Delete bool   // a strategic-merge patch with $patch: delete
}

// newTyped returns an empty value of the API type for apiVersion/kind, or an error for a
// kind these checks do not know.
func newTyped(kind string) (any, error) {
	switch kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1/Namespace":
		return &corev1.Namespace{}, nil
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "kustomize.config.k8s.io/v1beta1/Kustomization":
		return &kustomization{}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// decodeAll strictly decodes every YAML document of data (separated by --- lines).
func decodeAll(name string, data []byte) ([]object, error) {
	var out []object
	for i, doc := range splitDocs(data) {
		obj, err := decodeOne(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		if obj != nil {
			obj.File = name
			out = append(out, *obj)
		}
	}
	return out, nil
}

func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, "\r\n") == "---" {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.Bytes())
}

// decodeOne decodes one document into its API type, rejecting unknown fields; an empty
// document gives nil.
func decodeOne(doc []byte) (*object, error) {
	js, err := yaml.YAMLToJSONStrict(doc) // duplicate keys are errors
	if err != nil {
		return nil, err
	}
	if string(js) == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, err
	}
	del := m["$patch"] == "delete"
	if del {
		delete(m, "$patch")
		if js, err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	apiVersion, _ := m["apiVersion"].(string)
	kindName, _ := m["kind"].(string)
	kind := apiVersion + "/" + kindName
	v, err := newTyped(kind)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	// encoding/json matches field names case-insensitively ("targetport" fills TargetPort);
	// the API server does not. Decode again as it does: case-sensitive, no duplicates.
	again, _ := newTyped(kind)
	strict, err := kjson.UnmarshalStrict(js, again)
	if err == nil && len(strict) > 0 {
		err = errors.Join(strict...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return &object{Kind: kind, Value: v, Delete: del}, nil
}

// decodeFile reads and decodes one manifest file.
func decodeFile(t *testing.T, path string) []object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeAll(filepath.Base(path), data)
	if err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	return objs
}

// loadDir decodes a kustomization directory: its kustomization.yaml and every file it
// names as a resource or patch (directories are other kustomizations, not followed). It
// fails on a YAML file in dir that the kustomization does not use.
func loadDir(t *testing.T, dir string) (*kustomization, []object, []object) {
	t.Helper()
	kobjs := decodeFile(t, filepath.Join(dir, "kustomization.yaml"))
	k, ok := kobjs[0].Value.(*kustomization)
	if len(kobjs) != 1 || !ok {
		t.Fatalf("%s: kustomization.yaml must hold one Kustomization", dir)
	}
	used := map[string]bool{"kustomization.yaml": true}
	var resources, patches []object
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		if fi, err := os.Stat(p); err != nil {
			t.Fatalf("%s: resource %s: %v", dir, r, err)
		} else if fi.IsDir() {
			continue
		}
		used[r] = true
		resources = append(resources, decodeFile(t, p)...)
	}
	for _, pt := range k.Patches {
		used[pt.Path] = true
		patches = append(patches, decodeFile(t, filepath.Join(dir, pt.Path))...)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if !used[filepath.Base(f)] {
			t.Errorf("%s is in %s but not in its kustomization", filepath.Base(f), dir)
		}
	}
	return k, resources, patches
}

// only returns the one object of type T in objs.
func only[T any](t *testing.T, objs []object) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.Value.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, found %d", zero, len(found))
	}
	return found[0]
}
