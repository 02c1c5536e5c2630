// Command mongo-test-server runs an embedded FerretDB 1.x (SQLite backend)
// as a MongoDB wire-protocol compatible server for Parley's tests.
//
// It listens on 127.0.0.1:<port> (port 0 picks a free port), prints exactly
// one line "MONGODB_URI=mongodb://127.0.0.1:<port>/" on stdout once the
// listener accepts connections, and exits cleanly on SIGINT/SIGTERM.
// Logs go to stderr at warn level by default.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	os.Exit(run())
}

func run() int {
	port := flag.Int("port", 0, "TCP port to listen on at 127.0.0.1 (0 = pick a free port)")
	dataDir := flag.String("data-dir", "", "directory for SQLite files (default: a temp dir removed on exit)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "mongo-test-server: bad -log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "parley-mongo-test-*")
		if err != nil {
			fmt.Fprintf(os.Stderr, "mongo-test-server: %v\n", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "mongo-test-server: %v\n", err)
		return 1
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mongo-test-server: %v\n", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// ferretdb.New binds the listener, so the real port is known right after it.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: fmt.Sprintf("127.0.0.1:%d", *port)},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + filepath.ToSlash(abs) + "/",
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "mongo-test-server: %v\n", err)
		return 1
	}

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	uri := f.MongoDBURI() // mongodb://127.0.0.1:<port>/
	host := uri[len("mongodb://") : len(uri)-1]

	// Wait until a TCP connection is actually accepted before announcing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "mongo-test-server: listener not reachable: %v\n", err)
			stop()
			<-done
			return 1
		}
		select {
		case err := <-done:
			fmt.Fprintf(os.Stderr, "mongo-test-server: stopped early: %v\n", err)
			return 1
		case <-time.After(20 * time.Millisecond):
		}
	}

	fmt.Printf("MONGODB_URI=%s\n", uri)
	os.Stdout.Sync()

	if err := <-done; err != nil {
		fmt.Fprintf(os.Stderr, "mongo-test-server: %v\n", err)
		return 1
	}
	return 0
}
