package event

import (
	"crypto/sha1" //nolint:gosec // name-based UUIDs (RFC 9562 v5) are defined over SHA-1
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// namespace is the UUID namespace of rhombus-bridge ids (a fixed, random v4 UUID).
var namespace = [16]byte{0x6b, 0x3d, 0x1c, 0x52, 0x0e, 0x9a, 0x4f, 0x6e, 0x9d, 0x21, 0x57, 0xc4, 0x08, 0xa3, 0xe1, 0x7f}

// ID returns the deterministic id of one Rhombus occurrence as a name-based (v5) UUID.
//
//   - A policy alert's creation: its alert uuid alone, so the WebSocket, webhook and REST
//     copies of the alert share one id.
//   - Any other event with an entity uuid and a timestamp: entity, change, entity uuid and
//     timestamp.
//   - Anything else: entity, change and a hash of the raw bytes (so two different updates
//     of one entity that both lack a timestamp never share an id and shadow each other).
func ID(entity, change, entityUUID string, timestampMs int64, raw []byte) string {
	entity, change = strings.ToUpper(entity), strings.ToUpper(change)
	var buf [160]byte
	name := buf[:0]
	switch {
	case entity == EntityPolicyAlert && change == ChangeCreate && entityUUID != "":
		name = append(append(name, "policy_alert/"...), entityUUID...)
	case entityUUID != "" && timestampMs > 0:
		name = append(append(append(append(append(append(name, entity...), '/'), change...), '/'), entityUUID...), '/')
		name = strconv.AppendInt(name, timestampMs, 10)
	default:
		sum := sha256.Sum256(raw)
		name = append(append(append(append(name, entity...), '/'), change...), "/raw/"...)
		name = hex.AppendEncode(name, sum[:])
	}
	return uuidV5(name)
}

// AlertID is the id of the creation of the policy alert with the given uuid.
func AlertID(alertUUID string) string {
	return ID(EntityPolicyAlert, ChangeCreate, alertUUID, 0, nil)
}

func uuidV5[T string | []byte](name T) string {
	h := sha1.New() //nolint:gosec // see import
	h.Write(namespace[:])
	h.Write([]byte(name))
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var u [16]byte
	copy(u[:], sum[:])
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return string(buf[:])
}
