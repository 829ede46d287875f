package config

import (
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func oneOf(p *problems, name, v string, allowed ...string) string {
	v = strings.TrimSpace(v)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.add(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return v
}

func nonEmpty(p *problems, name, v string) string {
	if v = strings.TrimSpace(v); v == "" {
		p.add(name, "must not be empty")
	}
	return v
}

func match(p *problems, name, v string, re *regexp.Regexp, what string) string {
	if v = strings.TrimSpace(v); !re.MatchString(v) {
		p.add(name, "%q: %s", v, what)
	}
	return v
}

func duration(p *problems, name, v string, least time.Duration) time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	switch {
	case err != nil:
		p.add(name, "%q is not a duration (like 10s, 500ms, 5m)", v)
	case d < least || d < 0:
		p.add(name, "%s is below the minimum %s", d, least)
	}
	return d
}

func integer(p *problems, name, v string, least int) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil:
		p.add(name, "%q is not a whole number", v)
	case n < least:
		p.add(name, "%d is below the minimum %d", n, least)
	}
	return n
}

func float(p *problems, name, v string, most float64) float64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	switch {
	case err != nil || !finite(f) || f <= 0:
		p.add(name, "%q is not a positive number", v)
	case f > most:
		p.add(name, "%g is above the maximum %g", f, most)
	}
	return f
}

func boolean(p *problems, name, v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		p.add(name, "%q is not true or false", v)
	}
	return b
}

func addr(p *problems, name, v string) string {
	if _, _, err := net.SplitHostPort(strings.TrimSpace(v)); err != nil {
		p.add(name, "%q is not host:port (%v)", v, err)
	}
	return strings.TrimSpace(v)
}

func urlOf(p *problems, name, v string, schemes ...string) string {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.Host == "" {
		p.add(name, "%q is not an absolute URL", RedactURL(v))
		return v
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return u.String()
		}
	}
	p.add(name, "scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))
	return v
}
