package rhombus

import (
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

// FeedConfigFrom maps the validated configuration onto a FeedConfig for org (the
// configured org, or the one discovered with Client.OrgUUID). Logger and Registerer are
// left for the caller.
func FeedConfigFrom(r config.Rhombus, org string) FeedConfig {
	return FeedConfig{WSURL: r.WSURL, APIKey: r.APIKey, AuthScheme: r.AuthScheme, PartnerOrg: r.PartnerOrgUUID,
		Org: org, Heartbeat: r.Heartbeat}
}

// ClientConfigFrom maps the validated configuration onto a ClientConfig. Logger and
// Registerer are left for the caller.
func ClientConfigFrom(r config.Rhombus) ClientConfig {
	return ClientConfig{APIURL: r.APIURL, APIKey: r.APIKey, AuthScheme: r.AuthScheme, PartnerOrg: r.PartnerOrgUUID,
		Rate: r.RESTRate}
}
