package lease

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	heartbeatAPI "github.com/segmentio/kafka-go/protocol/heartbeat"
)

// claim is a member's group metadata: who it is and, if it leads, since which generation.
type claim struct {
	Instance string `json:"i"`
	TermGen  int32  `json:"g,omitempty"`
}

// join joins (or rejoins) the group and syncs; it reports whether this member holds
// partition 0 in the new generation. termGen > 0 claims the lease for the running term.
func (k *Kafka) join(ctx context.Context, termGen int32) (bool, error) {
	meta, _ := json.Marshal(claim{Instance: k.instance, TermGen: termGen})
	a, err := k.joinSync(ctx, meta, func(ms []kafka.JoinGroupResponseMember) []kafka.SyncGroupRequestAssignment {
		return assignLease(ms, k.cfg.Topic)
	})
	if err != nil {
		return false, err
	}
	k.setHolder(string(a.UserData))
	return len(a.AssignedPartitions[k.cfg.Topic]) > 0, nil
}

// assignFunc computes every member's assignment; it runs on the group's leader.
type assignFunc func(members []kafka.JoinGroupResponseMember) []kafka.SyncGroupRequestAssignment

// joinSync joins (or rejoins) the group with meta as this member's user data, then syncs
// (assign computes the assignments when this member leads the group) and returns this
// member's assignment in the new generation.
func (k *Kafka) joinSync(ctx context.Context, meta []byte, assign assignFunc) (kafka.GroupProtocolAssignment, error) {
	for range 3 {
		jctx, cancel := context.WithTimeout(ctx, 2*k.ttl+time.Second) // a rebalance waits for every member
		res, err := k.cl.JoinGroup(jctx, &kafka.JoinGroupRequest{
			GroupID: k.cfg.GroupID, SessionTimeout: k.ttl, RebalanceTimeout: k.ttl, MemberID: k.member,
			ProtocolType: groupProtocolType, Protocols: []kafka.GroupProtocol{{Name: groupProtocolName,
				Metadata: kafka.GroupProtocolSubscription{Topics: []string{k.cfg.Topic}, UserData: meta}}},
		})
		cancel()
		if err != nil {
			return kafka.GroupProtocolAssignment{}, fmt.Errorf("join group: %w", err)
		}
		switch {
		case errors.Is(res.Error, kafka.MemberIDRequired):
			k.member = res.MemberID
			continue
		case errors.Is(res.Error, kafka.UnknownMemberId):
			k.member = ""
			continue
		case errors.Is(res.Error, kafka.InvalidSessionTimeout):
			return kafka.GroupProtocolAssignment{}, k.refusedTTL(ctx)
		case res.Error != nil:
			return kafka.GroupProtocolAssignment{}, fmt.Errorf("join group: %w", res.Error)
		}
		k.member, k.gen = res.MemberID, int32(res.GenerationID)
		return k.sync(ctx, res, assign)
	}
	return kafka.GroupProtocolAssignment{}, errors.New("join group: no member id after 3 attempts")
}

func (k *Kafka) sync(ctx context.Context, res *kafka.JoinGroupResponse, assign assignFunc) (kafka.GroupProtocolAssignment, error) {
	var assignments []kafka.SyncGroupRequestAssignment
	if res.LeaderID == res.MemberID {
		assignments = assign(res.Members)
	}
	sctx, cancel := context.WithTimeout(ctx, k.ttl+time.Second)
	defer cancel()
	sres, err := k.cl.SyncGroup(sctx, &kafka.SyncGroupRequest{GroupID: k.cfg.GroupID,
		GenerationID: res.GenerationID, MemberID: res.MemberID, ProtocolType: groupProtocolType,
		ProtocolName: res.ProtocolName, Assignments: assignments})
	if err == nil {
		err = sres.Error
	}
	if err != nil {
		return kafka.GroupProtocolAssignment{}, fmt.Errorf("sync group (generation %d): %w", res.GenerationID, err)
	}
	return sres.Assignment, nil
}

// assignLease gives partition 0 to the member that leads in the newest running term
// (sticky: a rebalance does not move the lease), else to the smallest member id. Every
// assignment carries the holder's instance name.
func assignLease(members []kafka.JoinGroupResponseMember, topic string) []kafka.SyncGroupRequestAssignment {
	ids := make([]string, 0, len(members))
	claims := make(map[string]claim, len(members))
	for _, m := range members {
		var c claim
		_ = json.Unmarshal(m.Metadata.UserData, &c)
		claims[m.ID] = c
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	pick := ids[0]
	for _, id := range ids {
		if claims[id].TermGen > claims[pick].TermGen {
			pick = id
		}
	}
	out := make([]kafka.SyncGroupRequestAssignment, 0, len(ids))
	for _, id := range ids {
		a := kafka.GroupProtocolAssignment{AssignedPartitions: map[string][]int{},
			UserData: []byte(claims[pick].Instance)}
		if id == pick {
			a.AssignedPartitions[topic] = []int{0}
		}
		out = append(out, kafka.SyncGroupRequestAssignment{MemberID: id, Assignment: a})
	}
	return out
}

// heartbeat sends one heartbeat for the current generation straight to the group
// coordinator, as Heartbeat v0: kafka-go's Transport would send it to the controller, and
// its Heartbeat v1+ response decoding reads error_code before throttle_time_ms (swapped),
// so every error, REBALANCE_IN_PROGRESS included, reads as success.
func (k *Kafka) heartbeat(ctx context.Context) error {
	if k.hb == nil {
		c, err := k.dialCoordinator(ctx)
		if err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
		k.hb = c
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(k.ttl / 3)
	}
	c := k.hb
	_ = c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	k.corr++
	msg, err := protocol.RoundTrip(c, 0, k.corr, kafkaClientID, &heartbeatAPI.Request{
		GroupID: k.cfg.GroupID, GenerationID: k.gen, MemberID: k.member})
	if err != nil {
		k.dropConn()
		return wrapHeartbeat(err)
	}
	if code := msg.(*heartbeatAPI.Response).ErrorCode; code != 0 {
		e := kafka.Error(code)
		if e == kafka.NotCoordinatorForGroup || e == kafka.GroupCoordinatorNotAvailable {
			k.dropConn()
		}
		return wrapHeartbeat(e)
	}
	return nil
}

func wrapHeartbeat(err error) error {
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

func (k *Kafka) dialCoordinator(ctx context.Context) (net.Conn, error) {
	res, err := k.cl.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: k.cfg.GroupID,
		KeyType: kafka.CoordinatorKeyTypeConsumer})
	if err == nil {
		err = res.Error
	}
	if err != nil {
		return nil, fmt.Errorf("find coordinator: %w", err)
	}
	addr := net.JoinHostPort(res.Coordinator.Host, strconv.Itoa(int(res.Coordinator.Port)))
	c, err := k.cfg.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if k.cfg.TLS != nil {
		tc := k.cfg.TLS.Clone()
		if tc.ServerName == "" {
			tc.ServerName = res.Coordinator.Host
		}
		t := tls.Client(c, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("tls to coordinator %s: %w", addr, err)
		}
		c = t
	}
	if err := k.authenticate(ctx, c, res.Coordinator.Host, int(res.Coordinator.Port)); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("coordinator %s: %w", addr, err)
	}
	return c, nil
}

func (k *Kafka) dropConn() {
	if k.hb != nil {
		_ = k.hb.Close()
		k.hb = nil
	}
}
