package pgingest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain stops the throwaway PostgreSQL after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if pgInst != nil {
		pgInst.stop()
	}
	os.Exit(code)
}

// pgBinGlob is where Debian installs the PostgreSQL server tools (not on PATH there).
var pgBinGlob = "/usr/lib/postgresql/*/bin"

// systemDSN is the Debian system server, used only when this process runs as root and
// cannot start its own instance as the postgres user.
const systemDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// throwaway is a PostgreSQL instance this test binary started (initdb + pg_ctl) in a
// temporary directory: trust authentication, 127.0.0.1 and a free port only.
type throwaway struct {
	dir, data string
	pgCtl     string
	asUser    string // run as this user (initdb refuses root); "" for the current one
	dsn       string
}

var (
	pgOnce sync.Once
	pgDSN  string // the database the tests use ("" with pgSkip: none)
	pgSkip string // why the tests skip
	pgErr  error  // a start that failed (the tests fail: the tools are there)
	pgInst *throwaway
)

// testDSN is what the tests connect to: EXAMPLES_PG_DSN when set, else a throwaway
// instance from initdb/pg_ctl (PATH, then /usr/lib/postgresql/*/bin); without them the
// tests skip with a line naming EXAMPLES_PG_DSN.
func testDSN() (dsn, skip string, err error) {
	pgOnce.Do(func() {
		if v := os.Getenv("EXAMPLES_PG_DSN"); v != "" {
			if v == "skip" {
				pgSkip = "EXAMPLES_PG_DSN=skip"
			}
			pgDSN = v
			return
		}
		pgInst, pgSkip, pgErr = startThrowaway()
		if pgInst != nil {
			pgDSN = pgInst.dsn
		}
	})
	return pgDSN, pgSkip, pgErr
}

// stop stops an instance this process started and removes its files.
func (in *throwaway) stop() {
	if in.data == "" {
		return // the system server
	}
	_ = in.run(in.pgCtl, "-D", in.data, "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(in.dir)
}

func startThrowaway() (*throwaway, string, error) {
	initdb, pgCtl := pgTools()
	if initdb == "" {
		return nil, "PostgreSQL tests skipped: no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin; " +
			"set EXAMPLES_PG_DSN=postgres://... to run them against a database", nil
	}
	in := &throwaway{pgCtl: pgCtl}
	if os.Geteuid() == 0 { // initdb refuses to run as root
		if _, err := user.Lookup("postgres"); err != nil || runuser() == "" {
			return systemOrSkip()
		}
		in.asUser = "postgres"
	}
	if err := in.start(initdb); err != nil {
		in.stop()
		err = fmt.Errorf("throwaway PostgreSQL (%s): %w", initdb, err)
		if in.asUser != "" { // root: the system server, if there is one, rather than a red run
			if sys, skip, _ := systemOrSkip(); sys != nil {
				return sys, skip, nil
			}
		}
		return nil, "", err
	}
	return in, "", nil
}

// start creates the cluster and starts the server on a free port.
func (in *throwaway) start(initdb string) error {
	parent := "" // os.TempDir(); for another user /tmp, which it can always reach
	if in.asUser != "" {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "pgingest-pg-*")
	if err != nil {
		return err
	}
	in.dir, in.data = dir, filepath.Join(dir, "data")
	if in.asUser != "" {
		u, _ := user.Lookup(in.asUser)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	if err := in.run(initdb, "-D", in.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off", port, dir)
	if err := in.run(in.pgCtl, "-D", in.data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		return err
	}
	in.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return nil
}

// run runs a PostgreSQL tool, as asUser when set.
func (in *throwaway) run(tool string, args ...string) error {
	name, argv := tool, args
	if in.asUser != "" {
		name, argv = runuser(), append([]string{"-u", in.asUser, "--", tool}, args...)
	}
	cmd := exec.Command(name, argv...)
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w\n%s", tool, args, err, out)
	}
	return nil
}

// pgTools finds initdb and pg_ctl: on PATH, else the newest Debian install.
func pgTools() (initdb, pgCtl string) {
	i, err1 := exec.LookPath("initdb")
	c, err2 := exec.LookPath("pg_ctl")
	if err1 == nil && err2 == nil {
		return i, c
	}
	dirs, _ := filepath.Glob(pgBinGlob)
	sort.Slice(dirs, func(a, b int) bool { return version(dirs[a]) > version(dirs[b]) })
	for _, d := range dirs {
		i, c := filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if executable(i) && executable(c) {
			return i, c
		}
	}
	return "", ""
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func runuser() string {
	if p, err := exec.LookPath("runuser"); err == nil {
		return p
	}
	return ""
}

// systemOrSkip is the root fallback: the system server when it answers on 127.0.0.1:5432.
func systemOrSkip() (*throwaway, string, error) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:5432", 2*time.Second)
	if err != nil {
		return nil, "PostgreSQL tests skipped: running as root without a postgres user for initdb and no server on " +
			"127.0.0.1:5432; set EXAMPLES_PG_DSN=postgres://... to run them against a database", nil
	}
	_ = c.Close()
	return &throwaway{dsn: systemDSN}, "", nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Without initdb and pg_ctl (a machine with Go alone) the throwaway instance is not
// started and the reason names EXAMPLES_PG_DSN; with them it is found on PATH or in the
// Debian directory.
func TestPGToolsAbsentSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := pgBinGlob
	t.Cleanup(func() { pgBinGlob = old })
	base := t.TempDir()
	pgBinGlob = filepath.Join(base, "*", "bin")
	in, skip, err := startThrowaway()
	if in != nil || err != nil || !strings.Contains(skip, "EXAMPLES_PG_DSN") || strings.Contains(skip, "\n") {
		t.Fatalf("without tools: %+v, %q, %v; want one line naming EXAMPLES_PG_DSN", in, skip, err)
	}
	bin := filepath.Join(base, "16", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if i, c := pgTools(); i != filepath.Join(bin, "initdb") || c != filepath.Join(bin, "pg_ctl") {
		t.Fatalf("tools in %s not found: %q %q", bin, i, c)
	}
}
