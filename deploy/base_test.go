package deploy

import (
	"net"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

// base is the decoded base kustomization.
type base struct {
	dep    *appsv1.Deployment
	svc    *corev1.Service
	cm     *corev1.ConfigMap
	secret *corev1.Secret
	sa     *corev1.ServiceAccount
	pdb    *policyv1.PodDisruptionBudget
	netpol *networkingv1.NetworkPolicy
}

func loadBase(t *testing.T) base {
	t.Helper()
	_, objs, patches := loadDir(t, "base")
	if len(patches) != 0 {
		t.Errorf("the base has patches")
	}
	return base{
		dep:    only[*appsv1.Deployment](t, objs),
		svc:    only[*corev1.Service](t, objs),
		cm:     only[*corev1.ConfigMap](t, objs),
		secret: only[*corev1.Secret](t, objs),
		sa:     only[*corev1.ServiceAccount](t, objs),
		pdb:    only[*policyv1.PodDisruptionBudget](t, objs),
		netpol: only[*networkingv1.NetworkPolicy](t, objs),
	}
}

func (b base) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := b.dep.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return cs[0]
}

// portOf is the container port named name (or numbered), 0 when none.
func portOf(c corev1.Container, p intstr.IntOrString) int32 {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort
		}
	}
	return 0
}

// addrPort is the port number of a ":9090"-style listen address.
func addrPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := net.LookupPort("tcp", port)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestBaseDeploymentShape(t *testing.T) {
	b := loadBase(t)
	spec := b.dep.Spec
	if spec.Replicas == nil || *spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", spec.Replicas)
	}
	ru := spec.Strategy.RollingUpdate
	if spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
		ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge == nil || ru.MaxSurge.IntValue() < 1 {
		t.Errorf("strategy %+v: want RollingUpdate, maxUnavailable 0, maxSurge >= 1", spec.Strategy)
	}
	pod := spec.Template
	if spec.Selector == nil || !matches(spec.Selector.MatchLabels, pod.Labels) {
		t.Fatalf("selector %v does not select the pod labels %v", spec.Selector, pod.Labels)
	}
	aa := pod.Spec.Affinity
	if aa == nil || aa.PodAntiAffinity == nil || len(aa.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Fatal("no pod anti-affinity")
	}
	term := aa.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
	if term.TopologyKey != "kubernetes.io/hostname" || term.LabelSelector == nil || !matches(term.LabelSelector.MatchLabels, pod.Labels) {
		t.Errorf("anti-affinity term %+v: want hostname spreading of these pods", term)
	}
	if pod.Spec.ServiceAccountName != b.sa.Name || pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Errorf("service account %q (have %q), token mounted %v", pod.Spec.ServiceAccountName, b.sa.Name, pod.Spec.AutomountServiceAccountToken)
	}
}

func TestBaseProbes(t *testing.T) {
	b := loadBase(t)
	c := b.container(t)
	ops := addrPort(t, b.cm.Data["HTTP_ADDR"])
	probes := map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe}
	for path, p := range probes {
		if p == nil || p.HTTPGet == nil {
			t.Fatalf("probe for %s missing", path)
		}
		if p.HTTPGet.Path != path || portOf(c, p.HTTPGet.Port) != ops {
			t.Errorf("probe %s:%v, want %s on HTTP_ADDR's port %d", p.HTTPGet.Path, p.HTTPGet.Port.String(), path, ops)
		}
	}
	if portOf(c, intstr.FromInt32(addrPort(t, b.cm.Data["WEBHOOK_ADDR"]))) == 0 {
		t.Errorf("no container port for WEBHOOK_ADDR %q", b.cm.Data["WEBHOOK_ADDR"])
	}
}

func TestBaseSecurityContext(t *testing.T) {
	b := loadBase(t)
	psc := b.dep.Spec.Template.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, a non-zero runAsUser, seccomp RuntimeDefault", psc)
	}
	sc := b.container(t).SecurityContext
	if sc == nil {
		t.Fatal("container securityContext missing")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("root filesystem writable")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || (sc.Privileged != nil && *sc.Privileged) {
		t.Error("privilege escalation allowed or privileged")
	}
	if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
		t.Errorf("capabilities %+v: want drop ALL, add none", sc.Capabilities)
	}
}

func TestBaseResourcesAndVolumes(t *testing.T) {
	b := loadBase(t)
	c := b.container(t)
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okR := c.Resources.Requests[name]
		lim, okL := c.Resources.Limits[name]
		if !okR || !okL || req.Cmp(lim) > 0 {
			t.Errorf("%s: request %v limit %v: want both, request <= limit", name, req.String(), lim.String())
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	vols := map[string]corev1.Volume{}
	for _, v := range b.dep.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	for _, path := range []string{b.cm.Data["BRIDGE_DATA_DIR"], "/tmp"} {
		v, ok := vols[mounts[path]]
		if !ok || v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil {
			t.Errorf("%s: want a size-limited emptyDir mounted (read-only root filesystem)", path)
		}
	}
}

// TestBaseGracePeriod: the kubelet's grace period covers the preStop pause and the
// bridge's own bounded drain (BRIDGE_SHUTDOWN_TIMEOUT), with a margin.
func TestBaseGracePeriod(t *testing.T) {
	b := loadBase(t)
	drain, err := time.ParseDuration(b.cm.Data["BRIDGE_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("BRIDGE_SHUTDOWN_TIMEOUT: %v", err)
	}
	var pause time.Duration
	if ls := b.container(t).Lifecycle; ls != nil && ls.PreStop != nil && ls.PreStop.Sleep != nil {
		pause = time.Duration(ls.PreStop.Sleep.Seconds) * time.Second
	}
	grace := b.dep.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second < pause+drain+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v < preStop %v + drain %v + 5s", grace, pause, drain)
	}
}

func TestBaseServiceAndPDB(t *testing.T) {
	b := loadBase(t)
	pod := b.dep.Spec.Template
	c := b.container(t)
	if !matches(b.svc.Spec.Selector, pod.Labels) {
		t.Errorf("service selector %v misses the pods %v", b.svc.Spec.Selector, pod.Labels)
	}
	want := map[int32]int32{
		8080: addrPort(t, b.cm.Data["WEBHOOK_ADDR"]),
		9090: addrPort(t, b.cm.Data["HTTP_ADDR"]),
	}
	if len(b.svc.Spec.Ports) != len(want) {
		t.Errorf("service ports %v", b.svc.Spec.Ports)
	}
	for _, p := range b.svc.Spec.Ports {
		if target := portOf(c, p.TargetPort); want[p.Port] == 0 || target != want[p.Port] {
			t.Errorf("service port %d → %s (container %d), want %d", p.Port, p.TargetPort.String(), target, want[p.Port])
		}
	}
	pdb := b.pdb.Spec
	if pdb.MinAvailable == nil || pdb.MinAvailable.Type != intstr.Int || pdb.MinAvailable.IntVal != 1 {
		t.Errorf("PDB minAvailable %v, want 1", pdb.MinAvailable)
	}
	if pdb.Selector == nil || !matches(pdb.Selector.MatchLabels, pod.Labels) {
		t.Errorf("PDB selector %v misses the pods", pdb.Selector)
	}
}

// secretKeys are the settings that belong in the Secret, never in the ConfigMap.
var secretKeys = []string{"RHOMBUS_API_KEY", "WEBHOOK_SECRET", "KAFKA_PASSWORD"}

// TestBaseConfigValid hands the ConfigMap and Secret, as the pod sees them, to the bridge's
// own configuration parser.
func TestBaseConfigValid(t *testing.T) {
	b := loadBase(t)
	refs := map[string]bool{}
	for _, ef := range b.container(t).EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			refs["cm/"+ef.ConfigMapRef.Name] = true
		case ef.SecretRef != nil:
			refs["secret/"+ef.SecretRef.Name] = true
		}
	}
	if !refs["cm/"+b.cm.Name] || !refs["secret/"+b.secret.Name] {
		t.Fatalf("envFrom %v does not name ConfigMap %q and Secret %q", refs, b.cm.Name, b.secret.Name)
	}
	for _, k := range secretKeys {
		if _, ok := b.cm.Data[k]; ok {
			t.Errorf("secret %s in the ConfigMap", k)
		}
	}
	for k, v := range b.secret.StringData {
		if !strings.Contains(v, "REPLACE-ME") {
			t.Errorf("Secret %s is not an obvious placeholder", k)
		}
	}
	setEnv(t, b.cm.Data, b.secret.StringData, map[string]string{"BRIDGE_INSTANCE_ID": "rhombus-bridge-abc12"})
	cfg, err := config.Load(config.ModeRun)
	if err != nil {
		t.Fatalf("the bridge rejects the base configuration:\n%v", err)
	}
	if cfg.NATS.URL == "" || cfg.Bridge.Lease != "nats" {
		t.Errorf("NATS_URL %q lease %q: replicas need a shared NATS for the lease", cfg.NATS.URL, cfg.Bridge.Lease)
	}
	if !cfg.Webhook.WebhookOn() {
		t.Error("webhook receiver off")
	}
}

func setEnv(t *testing.T, maps ...map[string]string) {
	t.Helper()
	for _, m := range maps {
		for k, v := range m {
			t.Setenv(k, v)
		}
	}
}
