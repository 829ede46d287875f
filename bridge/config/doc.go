// Package config is the one place that reads rhombus-bridge's environment. Load reads every
// variable of the contract (see ../shared/contract.md and README), validates the whole set
// once and reports every problem in a single error; nothing else in the program calls
// os.Getenv. String prints the effective configuration with secrets masked.
package config
