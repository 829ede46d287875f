package deploy

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

const overlay = "overlays/example"

// TestOverlayFilesDecode decodes the overlay's own files strictly (patches included) and
// checks that it drops the placeholder Secret and pins the image.
func TestOverlayFilesDecode(t *testing.T) {
	k, objs, patches := loadDir(t, overlay)
	if k.Namespace == "" {
		t.Error("overlay sets no namespace")
	}
	ns := only[*corev1.Namespace](t, objs)
	if ns.Name != k.Namespace {
		t.Errorf("Namespace %q, kustomization namespace %q", ns.Name, k.Namespace)
	}
	deleted := false
	for _, p := range patches {
		if s, ok := p.Value.(*corev1.Secret); ok && p.Delete && s.Name == "rhombus-bridge-secrets" {
			deleted = true
		}
	}
	if !deleted {
		t.Error("overlay keeps the base's placeholder Secret")
	}
	for _, img := range k.Images {
		if img.NewTag == "latest" || (img.NewTag == "" && img.Digest == "") {
			t.Errorf("overlay image %q not pinned", img.Name)
		}
	}
}

// kustomize renders dir with `kubectl kustomize` and strictly decodes the result.
func kustomize(t *testing.T, dir string) []object {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH: rendered output not checked (the files were decoded above)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kubectl, "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	objs, err := decodeAll(dir+" (rendered)", out)
	if err != nil {
		t.Fatalf("rendered %s: %v", dir, err)
	}
	return objs
}

// TestKustomizeBuild renders base and overlay with the real kustomize (kubectl) and checks
// the result: every object decodes, the overlay puts them in its namespace with the pinned
// image, patches applied, and no Secret shipped.
func TestKustomizeBuild(t *testing.T) {
	if n := len(kustomize(t, "base")); n != 7 {
		t.Errorf("base renders %d objects, want 7", n)
	}
	objs := kustomize(t, overlay)
	for _, o := range objs {
		if _, ok := o.Value.(*corev1.Secret); ok {
			t.Error("rendered overlay ships a Secret")
		}
	}
	dep := only[*appsv1.Deployment](t, objs)
	cm := only[*corev1.ConfigMap](t, objs)
	if dep.Namespace != "rhombus" || cm.Namespace != "rhombus" {
		t.Errorf("namespaces %q %q", dep.Namespace, cm.Namespace)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if !strings.HasSuffix(c.Image, ":v0.1.0") {
		t.Errorf("image %q not pinned by the overlay", c.Image)
	}
	if c.Resources.Limits.Memory().String() != "1Gi" || *dep.Spec.Replicas != 2 {
		t.Errorf("resources patch not applied: %v", c.Resources.Limits)
	}
	setEnv(t, cm.Data, map[string]string{"RHOMBUS_API_KEY": "k", "WEBHOOK_SECRET": "s", "BRIDGE_INSTANCE_ID": "p"})
	cfg, err := config.Load(config.ModeRun)
	if err != nil {
		t.Fatalf("the bridge rejects the overlay configuration:\n%v", err)
	}
	if !cfg.Bridge.Enabled("kafka") || !cfg.Bridge.Enabled("nats") {
		t.Errorf("overlay sinks %v", cfg.Bridge.Sinks)
	}
}

// TestDecodeIsStrict proves the decoder fails where it should.
func TestDecodeIsStrict(t *testing.T) {
	bad := map[string]string{
		"unknown field":  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n",
		"nested unknown": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetport: 80}]}\n",
		"unknown kind":   "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"wrong version":  "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: x}\n",
		"wrong type":     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two}\n",
		"case":           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nDATA: {a: b}\n",
		"duplicate key":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n",
		"kustomize typo": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource: [a.yaml]\n",
	}
	for name, doc := range bad {
		if _, err := decodeAll(name, []byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	good := "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
	if objs, err := decodeAll("good", []byte(good)); err != nil || len(objs) != 2 {
		t.Errorf("two documents: %d objects, %v", len(objs), err)
	}
}
