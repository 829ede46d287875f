package event

import (
	"encoding/json"
	"fmt"
	"strconv"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// ChangeGapClosed is the change type of a gap record: published once the gap was
// backfilled (or given up on), on {prefix}.v1.{org}.bridge_gap.closed.none.
const ChangeGapClosed = "CLOSED"

// BuildGap makes the BRIDGE_GAP event that records a gap in the live feed. Its id is
// derived from the instance, the start and the cause, so a retried publish collapses.
func BuildGap(org string, g v1.GapData) (Event, error) {
	if g.GapID == "" {
		g.GapID = uuidV5("gap/" + g.Instance + "/" + strconv.FormatInt(g.StartMs, 10) + "/" + g.Cause)
	}
	ev := Event{
		ID:          g.GapID,
		Org:         org,
		Entity:      EntityGap,
		Change:      ChangeGapClosed,
		EntityUUID:  g.GapID,
		TimestampMs: g.EndMs,
		Via:         ViaBridge,
	}
	ce := v1.Gap{
		SpecVersion: v1.SpecVersion, ID: ev.ID, Source: Source(org), Type: ev.CEType(), Subject: ev.Key(),
		Time: Time(g.EndMs), DataContentType: v1.DataContentType, DataSchema: v1.SchemaURI(EntityGap),
		RhombusOrg: org, RhombusEntity: EntityGap, RhombusChange: ChangeGapClosed, RhombusVia: string(ViaBridge),
		PartitionKey: ev.Key(), Data: g,
	}
	body, err := json.Marshal(ce)
	if err != nil {
		return Event{}, fmt.Errorf("gap event: %w", err)
	}
	ev.Body = body
	return ev, nil
}
