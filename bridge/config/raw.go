package config

// raw is the environment as strings; envconfig fills it (names and defaults live here) and
// parse turns it into a Config, collecting every problem rather than stopping at the first.
// Tag secret:"true" masks the whole value when printed; secret:"userinfo" masks only the
// user-info (user:password@ or token@) of the URL or comma list of URLs it holds.
type raw struct {
	APIKey          string `envconfig:"RHOMBUS_API_KEY" desc:"Rhombus API token (required but for demo)" secret:"true"`
	AuthScheme      string `envconfig:"RHOMBUS_AUTH_SCHEME" default:"api-token" desc:"api-token or partner-api-token"`
	PartnerOrgUUID  string `envconfig:"RHOMBUS_PARTNER_ORG_UUID" desc:"partner tokens: the client org (x-auth-org)"`
	OrgUUID         string `envconfig:"RHOMBUS_ORG_UUID" desc:"org to subscribe to; empty: discovered with getOrgV2"`
	Orgs            string `envconfig:"RHOMBUS_ORGS" desc:"many organisations: comma list of org uuids"`
	OrgsFile        string `envconfig:"RHOMBUS_ORGS_FILE" desc:"many organisations: file of lines ORG_UUID [API_KEY], re-read on change"`
	WSURL           string `envconfig:"RHOMBUS_WS_URL" default:"wss://ws.rhombussystems.com:8443/websocket" secret:"userinfo"`
	APIURL          string `envconfig:"RHOMBUS_API_URL" default:"https://api2.rhombussystems.com" secret:"userinfo"`
	Heartbeat       string `envconfig:"RHOMBUS_HEARTBEAT" default:"10s"`
	Entities        string `envconfig:"RHOMBUS_ENTITIES" desc:"comma list of entity types to forward; empty: all"`
	RESTRate        string `envconfig:"RHOMBUS_REST_RATE" default:"5" desc:"client-side REST budget, requests per second"`
	CredentialRate  string `envconfig:"RHOMBUS_CREDENTIAL_REST_RATE" default:"50" desc:"partner mode: REST budget of one API key across its orgs, requests per second"`
	Enrich          string `envconfig:"BRIDGE_ENRICH" default:"true" desc:"add device names and complete alerts from REST"`
	Sinks           string `envconfig:"BRIDGE_SINKS" default:"nats"`
	InstanceID      string `envconfig:"BRIDGE_INSTANCE_ID" desc:"default: hostname"`
	Lease           string `envconfig:"BRIDGE_LEASE" default:"auto"`
	LeaseTTL        string `envconfig:"BRIDGE_LEASE_TTL" default:"10s"`
	DataDir         string `envconfig:"BRIDGE_DATA_DIR" default:"./data"`
	PublishTimeout  string `envconfig:"BRIDGE_PUBLISH_TIMEOUT" default:"5s" desc:"broker ack timeout per attempt"`
	ShutdownTimeout string `envconfig:"BRIDGE_SHUTDOWN_TIMEOUT" default:"15s" desc:"bound on the drain at exit"`
	BufferEvents    string `envconfig:"BRIDGE_BUFFER_EVENTS" default:"10000" desc:"events held in memory while a sink is down"`
	SpoolMaxBytes   string `envconfig:"BRIDGE_SPOOL_MAX_BYTES" default:"1073741824" desc:"local spool bound, bytes"`
	SpoolMaxAge     string `envconfig:"BRIDGE_SPOOL_MAX_AGE" default:"24h" desc:"local spool bound, age"`
	BackfillOverlap string `envconfig:"BRIDGE_BACKFILL_OVERLAP" default:"30s" desc:"backfill starts this long before the watermark"`
	BackfillMaxAge  string `envconfig:"BRIDGE_BACKFILL_MAX_AGE" default:"24h" desc:"backfill never reaches further back"`
	Deployment      string `envconfig:"BRIDGE_DEPLOYMENT" desc:"scopes shared state; default: derived from NATS_STREAM and KAFKA_TOPIC"`

	NATSURL             string `envconfig:"NATS_URL" desc:"empty: embedded JetStream server" secret:"userinfo"`
	NATSEmbeddedListen  string `envconfig:"NATS_EMBEDDED_LISTEN" default:"127.0.0.1:4222"`
	NATSCreds           string `envconfig:"NATS_CREDS"`
	NATSStream          string `envconfig:"NATS_STREAM" default:"RHOMBUS"`
	NATSSubjectPrefix   string `envconfig:"NATS_SUBJECT_PREFIX" default:"rhombus"`
	NATSDuplicateWindow string `envconfig:"NATS_DUPLICATE_WINDOW" default:"10m"`
	NATSMaxInFlight     string `envconfig:"NATS_MAX_INFLIGHT" default:"4096" desc:"async publishes awaiting an ack"`
	NATSReplicas        string `envconfig:"NATS_REPLICAS" default:"1" desc:"stream replicas (clustered NATS)"`
	NATSStreamMaxAge    string `envconfig:"NATS_STREAM_MAX_AGE" desc:"stream MaxAge; default 168h on create, existing streams untouched unless set"`
	NATSStreamMaxBytes  string `envconfig:"NATS_STREAM_MAX_BYTES" desc:"stream MaxBytes; default -1 (1 GiB embedded) on create, existing streams untouched unless set"`

	KafkaBrokers     string `envconfig:"KAFKA_BROKERS"`
	KafkaTopic       string `envconfig:"KAFKA_TOPIC" default:"rhombus.events.v1"`
	KafkaTLS         string `envconfig:"KAFKA_TLS" default:"false"`
	KafkaCAFile      string `envconfig:"KAFKA_CA_FILE"`
	KafkaSASL        string `envconfig:"KAFKA_SASL_MECHANISM" desc:"plain, scram-sha-256 or scram-sha-512"`
	KafkaUsername    string `envconfig:"KAFKA_USERNAME"`
	KafkaPassword    string `envconfig:"KAFKA_PASSWORD" secret:"true"`
	KafkaCreateTopic string `envconfig:"KAFKA_CREATE_TOPIC" default:"false"`
	KafkaPartitions  string `envconfig:"KAFKA_PARTITIONS" default:"6"`
	KafkaReplication string `envconfig:"KAFKA_REPLICATION" default:"3"`
	KafkaLeaseTopic  string `envconfig:"KAFKA_LEASE_TOPIC" default:"rhombus-bridge.lease"`
	KafkaStateTopic  string `envconfig:"KAFKA_STATE_TOPIC" default:"rhombus-bridge.state" desc:"compacted topic of the shared watermark (Kafka-only HA)"`
	KafkaShardTopic  string `envconfig:"KAFKA_SHARD_TOPIC" default:"rhombus-bridge.shard" desc:"partner mode with BRIDGE_LEASE=kafka: coordination topic whose partitions are the org slots"`
	KafkaShardSlots  string `envconfig:"KAFKA_SHARD_SLOTS" default:"256" desc:"partner mode with BRIDGE_LEASE=kafka: org slots (the same on every replica)"`

	WebhookAddr        string `envconfig:"WEBHOOK_ADDR" default:":8080"`
	WebhookPath        string `envconfig:"WEBHOOK_PATH" default:"/webhooks/rhombus"`
	WebhookSecret      string `envconfig:"WEBHOOK_SECRET" desc:"comma list of accepted secrets; empty: receiver off" secret:"true"`
	WebhookSecretsFile string `envconfig:"WEBHOOK_SECRETS_FILE" desc:"many organisations: lines ORG_UUID SECRET[,SECRET...]"`
	WebhookMaxBytes    string `envconfig:"WEBHOOK_MAX_BYTES" default:"524288" desc:"larger bodies get 413; at most half the broker's max payload"`
	WebhookTimeout     string `envconfig:"WEBHOOK_ACK_TIMEOUT" default:"5s" desc:"answer 503 when sinks have not acked by then"`
	WebhookConcurrency string `envconfig:"WEBHOOK_CONCURRENCY" default:"512" desc:"requests in progress before 429"`
	WebhookTLSCert     string `envconfig:"WEBHOOK_TLS_CERT"`
	WebhookTLSKey      string `envconfig:"WEBHOOK_TLS_KEY"`
	WebhookClientCA    string `envconfig:"WEBHOOK_CLIENT_CA"`
	WebhookClientCN    string `envconfig:"WEBHOOK_CLIENT_CN" default:"webhook-client.rhombus.com"`

	HTTPAddr  string `envconfig:"HTTP_ADDR" default:":9090"`
	HTTPPprof string `envconfig:"HTTP_PPROF" default:"false" desc:"serve /debug/pprof/ on HTTP_ADDR"`
	LogLevel  string `envconfig:"LOG_LEVEL" default:"info"`
	LogFormat string `envconfig:"LOG_FORMAT" default:"json"`
}
