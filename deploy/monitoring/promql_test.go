package monitoring_test

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/prometheus/common/model"
)

// A light PromQL check (the real parser, github.com/prometheus/prometheus/promql/parser,
// would pull the whole Prometheus module into go.mod): brackets balanced outside strings,
// range durations valid, every called function known, selectors well formed.

var (
	metricRe  = regexp.MustCompile(`rhombus_bridge_[a-z0-9_]+`)
	selRe     = regexp.MustCompile(`(rhombus_bridge_[a-z0-9_]+)\{([^}]*)\}`)
	matcherRe = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*$`)
	callRe    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*\(`)
	grafanaRe = regexp.MustCompile(`\$__(rate_interval|interval|range)`)
)

var functions = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "count": true, "topk": true, "bottomk": true,
	"quantile": true, "stddev": true, "group": true, "count_values": true,
	"rate": true, "irate": true, "increase": true, "delta": true, "deriv": true, "changes": true, "resets": true,
	"histogram_quantile": true, "absent": true, "absent_over_time": true, "time": true, "vector": true,
	"scalar": true, "clamp_min": true, "clamp_max": true, "abs": true, "max_over_time": true,
	"min_over_time": true, "avg_over_time": true, "predict_linear": true, "timestamp": true, "label_replace": true,
	// grouping modifiers take a label list in parentheses
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// exprSource is the PromQL inside a Grafana label_values(query, label) variable, or expr.
func exprSource(expr string) string {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "label_values(") && strings.HasSuffix(e, ")") {
		inner := e[len("label_values(") : len(e)-1]
		if i := strings.LastIndex(inner, ","); i >= 0 {
			return inner[:i]
		}
	}
	return e
}

// checkPromQL returns the problems found in expr (Grafana's $__ intervals count as 5m).
func checkPromQL(expr string) []string {
	e := grafanaRe.ReplaceAllString(exprSource(expr), "5m")
	probs := checkBrackets(e)
	for _, m := range callRe.FindAllStringSubmatch(stripStrings(e), -1) {
		if !functions[m[1]] {
			probs = append(probs, fmt.Sprintf("unknown function %s()", m[1]))
		}
	}
	for _, m := range selRe.FindAllStringSubmatch(e, -1) {
		for _, part := range splitMatchers(m[2]) {
			if !matcherRe.MatchString(part) {
				probs = append(probs, fmt.Sprintf("%s: bad label matcher %q", m[1], part))
			}
		}
	}
	return probs
}

// checkBrackets walks expr outside string literals: (), {} and [] must nest, and the
// content of [] must be a duration or a subquery range.
func checkBrackets(e string) []string {
	var probs, stack []string
	var rangeStart int
	inStr := false
	for i := 0; i < len(e); i++ {
		c := e[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '(' || c == '{' || c == '[':
			stack = append(stack, string(c))
			rangeStart = i + 1
		case c == ')' || c == '}' || c == ']':
			open := map[byte]string{')': "(", '}': "{", ']': "["}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return append(probs, fmt.Sprintf("unbalanced %q at %d", c, i))
			}
			stack = stack[:len(stack)-1]
			if c == ']' {
				probs = append(probs, checkRange(e[rangeStart:i])...)
			}
		}
	}
	if inStr {
		probs = append(probs, "unterminated string")
	}
	if len(stack) > 0 {
		probs = append(probs, fmt.Sprintf("unclosed %v", stack))
	}
	return probs
}

func checkRange(r string) []string {
	for _, part := range strings.SplitN(r, ":", 2) {
		if part == "" && strings.Contains(r, ":") {
			continue // [5m:] subquery with the default step
		}
		if _, err := model.ParseDuration(strings.TrimSpace(part)); err != nil {
			return []string{fmt.Sprintf("range [%s]: %v", r, err)}
		}
	}
	return nil
}

// stripStrings blanks string literals so that words inside them are not taken for calls.
func stripStrings(e string) string {
	return regexp.MustCompile(`"(?:[^"\\]|\\.)*"`).ReplaceAllString(e, `""`)
}

// splitMatchers splits a selector body on commas outside strings.
func splitMatchers(body string) []string {
	var out []string
	start, inStr := 0, false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case c == ',' && !inStr:
			out = append(out, body[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(body[start:]) != "" {
		out = append(out, body[start:])
	}
	return out
}

// used is one metric an expression refers to, with the labels its selectors match on.
type used struct {
	name   string // as written, _bucket/_sum/_count included
	labels map[string]bool
}

// metricsIn returns the rhombus_bridge_* metrics of expr by name as written.
func metricsIn(expr string) map[string]*used {
	out := map[string]*used{}
	for _, n := range metricRe.FindAllString(expr, -1) {
		if out[n] == nil {
			out[n] = &used{name: n, labels: map[string]bool{}}
		}
	}
	for _, m := range selRe.FindAllStringSubmatch(expr, -1) {
		for _, part := range splitMatchers(m[2]) {
			if mm := regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)`).FindStringSubmatch(part); mm != nil {
				out[m[1]].labels[mm[1]] = true
			}
		}
	}
	return out
}
