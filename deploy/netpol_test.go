package deploy

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestBaseNetworkPolicy: ingress to the pods only on the ports the Service exposes.
func TestBaseNetworkPolicy(t *testing.T) {
	b := loadBase(t)
	np := b.netpol.Spec
	if !matches(np.PodSelector.MatchLabels, b.dep.Spec.Template.Labels) {
		t.Errorf("policy selects %v, not the pods", np.PodSelector.MatchLabels)
	}
	c := b.container(t)
	allowed := map[int32]bool{}
	for _, rule := range np.Ingress {
		if len(rule.Ports) == 0 {
			t.Error("an ingress rule allows every port")
		}
		for _, p := range rule.Ports {
			if p.Port == nil || portOf(c, *p.Port) == 0 {
				t.Errorf("policy port %v is no container port", p.Port)
				continue
			}
			allowed[portOf(c, *p.Port)] = true
		}
	}
	for _, sp := range b.svc.Spec.Ports {
		if !allowed[portOf(c, sp.TargetPort)] {
			t.Errorf("service port %s blocked by the network policy", sp.Name)
		}
	}
}

// TestOpsPortOnlyForPrometheus: the operations port admits Prometheus alone (probes come
// from the node); only the webhook port is open to every source.
func TestOpsPortOnlyForPrometheus(t *testing.T) {
	b := loadBase(t)
	c := b.container(t)
	for _, rule := range b.netpol.Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port == nil || portOf(c, *p.Port) == portOf(c, intstr.FromString("webhook")) {
				continue
			}
			if len(rule.From) == 0 {
				t.Errorf("port %v is open to every source", p.Port)
			}
			for _, peer := range rule.From {
				if peer.NamespaceSelector == nil || peer.PodSelector == nil || peer.IPBlock != nil {
					t.Errorf("port %v admits more than Prometheus pods: %+v", p.Port, peer)
				}
			}
		}
	}
}
