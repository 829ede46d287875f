package lease

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"

	"github.com/segmentio/kafka-go"
)

// ReadKafkaShard reads the shard map the members of a Kafka shard group were last
// assigned (DescribeGroups on its coordinator), for any process: the replica each org's
// slot belongs to ("": none) and the members, sorted.
func ReadKafkaShard(ctx context.Context, cfg KafkaConfig, slots int, orgs []string) (map[string]string, []string, error) {
	k, err := NewKafka(cfg)
	if err != nil {
		return nil, nil, err
	}
	defer k.tr.CloseIdleConnections()
	fc, err := k.cl.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: cfg.GroupID, KeyType: kafka.CoordinatorKeyTypeConsumer})
	if err == nil {
		err = fc.Error
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find coordinator of %s: %w", cfg.GroupID, err)
	}
	addr := kafka.TCP(net.JoinHostPort(fc.Coordinator.Host, strconv.Itoa(fc.Coordinator.Port)))
	res, err := k.cl.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{Addr: addr, GroupIDs: []string{cfg.GroupID}})
	if err == nil && len(res.Groups) != 1 {
		err = fmt.Errorf("%d groups in the answer", len(res.Groups))
	}
	if err == nil {
		err = res.Groups[0].Error
	}
	if err != nil {
		return nil, nil, fmt.Errorf("describe group %s: %w", cfg.GroupID, err)
	}
	m := noMap
	for _, mem := range res.Groups[0].Members {
		var sm slotMap
		if json.Unmarshal(mem.MemberAssignments.UserData, &sm) == nil && sm.Slots == slots && len(sm.Owners) > 0 {
			m = sm
			break
		}
	}
	s := &KafkaShard{cfg: KafkaShardConfig{Slots: slots}, view: m}
	return s.Holders(orgs), s.Replicas(), nil
}
