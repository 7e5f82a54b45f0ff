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
	printed := false // the flag package prints the usage after its own errors
	fs.Usage = func() {
		printed = true
		fmt.Fprint(io.err, serveUsage)
		fs.PrintDefaults()
	}
	cfg, err := appliance.ParseFlags(args, fs)
	if err == flag.ErrHelp {
		return nil
	}
	if err != nil {
		if !printed {
			fmt.Fprintln(io.err, "postvault serve:", err)
			fs.Usage()
		}
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

// serveUsage lists every flag of appliance.ParseFlags; the defaults it
// names are those of firmware/appliance/config.go (applianceListen,
// devListen, defaultConnLimits), where the precedence is written down.
const serveUsage = `usage: postvault serve [--dev DIR | --members PATH,...] [--board PROFILE|FILE]
           [--imap ADDR] [--imaps ADDR] [--pop3 ADDR] [--pop3s ADDR]
           [--smtp ADDR] [--lmtp ADDR] [--http ADDR] [--https ADDR]
           [--imap-conns N] [--pop3-conns N] [--smtp-conns N] [--lmtp-conns N]
           [--hostname NAME] [--allow-insecure-auth] [--admin ADDRESS]
           [--disk-size BYTES] [--console FILE]
Without --dev or --members, the SATA disks found in sysfs are the members
(never the boot disk).
Listen addresses: a flag wins, then the store's setting serve.NAME (serve.imap,
serve.https, ...), then the default; "off" turns a service off. Defaults:
  on the box:  imap :143, imaps :993, pop3 :110, pop3s :995, smtp :25,
               lmtp :24, http :80, https :443
  with --dev:  imap 127.0.0.1:10143, imaps 127.0.0.1:10993,
               pop3 127.0.0.1:10110, pop3s 127.0.0.1:10995,
               smtp 127.0.0.1:10025, lmtp 127.0.0.1:10024,
               http 127.0.0.1:10080, no https
Connections per client address (IMAP and IMAPS share one count, POP3 and
POP3S another): a flag wins, then the setting serve.NAME-conns (serve.imap-conns,
...), then the default: imap 50, pop3 20, smtp 20, lmtp 100; -1 means no limit.
With --dev, loopback clients are not limited.
Flags:
`
