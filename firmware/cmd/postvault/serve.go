package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/postvault/postvault/firmware/appliance"
)

// serveMain runs the appliance until SIGINT or SIGTERM, then shuts down
// cleanly (servers closed, store checkpointed, array marked clean).
func serveMain(io stdio, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.Usage = func() {
		fmt.Fprintln(io.err, "usage: postvault serve [--dev DIR | --members PATH,...] [--imap ADDR] [--imaps ADDR] [--pop3 ADDR] [--pop3s ADDR] [--smtp ADDR] [--lmtp ADDR] [--http ADDR] [options]")
		fmt.Fprintln(io.err, "Without --dev or --members, the SATA disks found in sysfs are the members (never the boot disk).")
		fs.PrintDefaults()
	}
	cfg, err := appliance.ParseFlags(args, fs)
	if err == flag.ErrHelp {
		return nil
	}
	if err != nil {
		fs.Usage()
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(io.err, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ap, err := appliance.Start(ctx, cfg, log, io.out)
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	return ap.Close()
}
