// Package orgs is where the organisations of partner mode come from: RHOMBUS_ORGS (fixed)
// combined with RHOMBUS_ORGS_FILE, and the per-org webhook secrets of WEBHOOK_SECRETS_FILE.
// Both files are re-read when they change, so a Kubernetes ConfigMap or Secret update adds
// or removes orgs without a restart. Change is noticed by polling each file's content
// hash every second (a ConfigMap volume swaps a symlink, which inotify on the file itself
// would miss); a file that no longer parses keeps the last good list and
// is reported once per change.
package orgs
