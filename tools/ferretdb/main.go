// Command ferretdb starts an embedded FerretDB (MongoDB wire protocol over SQLite, or over PostgreSQL) for
// SettleFlow's local stack. We launch it through the embeddable package instead of `go install …/cmd/ferretdb`, because that
// command panics at start when built from the module proxy: its generated build/version/version.txt is not
// part of the published module, and only the official binary's main package insists on it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (keep it on loopback)")
	sqliteDir := flag.String("sqlite-dir", ".data/ferretdb", "directory holding one SQLite file per database")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	handler := flag.String("handler", "sqlite", "backend: sqlite (files under --sqlite-dir) or postgresql "+
		"(the database named by the FERRETDB_POSTGRESQL_URL environment variable)")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail("bad --log-level: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	config := ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
		Handler:  *handler,
	}

	switch *handler {
	case "sqlite":
		if err := os.MkdirAll(*sqliteDir, 0o700); err != nil {
			fail("cannot create %s: %v", *sqliteDir, err)
		}

		// WAL is FerretDB's default; synchronous=NORMAL drops its fsync per commit. Every commit still survives a
		// crash of this process (the chaos run kills it); only a power cut could lose the last ones, which a local
		// stack can afford. Production runs MongoDB.
		config.SQLiteURL = "file:" + *sqliteDir + "/?_pragma=synchronous(normal)"

	case "postgresql":
		// The URL holds the password: from the environment (readable by this process's owner only), never from a
		// flag (any local user can read a command line). The name is the one the official FerretDB binary reads.
		config.PostgreSQLURL = os.Getenv("FERRETDB_POSTGRESQL_URL")
		if config.PostgreSQLURL == "" {
			fail("--handler=postgresql needs FERRETDB_POSTGRESQL_URL (postgres://user:password@host:port/database)")
		}

	default:
		fail("bad --handler %q: sqlite or postgresql", *handler)
	}

	f, err := ferretdb.New(&config)
	if err != nil {
		fail("cannot start FerretDB: %v", err)
	}

	// SIGTERM/SIGINT end Run; the backend is closed on the way out (SQLite files stay consistent, PostgreSQL
	// connections end cleanly).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The supervisor waits for this line (and for the port) before it reports the server ready.
	fmt.Fprintf(os.Stdout, "ferretdb listening on %s\n", f.MongoDBURI())
	if err := f.Run(ctx); err != nil {
		fail("FerretDB stopped: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ferretdb: "+format+"\n", args...)
	os.Exit(1)
}
