// Package appliance is the composition root of `postvault serve`: it opens
// the member disks (development files, named paths, or the SATA disks found
// in sysfs), assembles the parity array or creates one on blank disks, opens
// the mail store on the array's volume, and serves IMAP, POP3, SMTP, LMTP and
// the HTTP status page on top of it.
//
// Start-up is a straight list of steps (in the manner of gokrazy's boot):
// steps that cannot be skipped return an error and stop the start; steps that
// can (a certificate setting that does not parse, a service whose port is
// taken) log and go on. When everything listens, one ready line is written:
//
//	postvault: ready imap=ADDR imaps=ADDR pop3=ADDR pop3s=ADDR smtp=ADDR lmtp=ADDR http=ADDR https=ADDR
//
// to standard output and, when configured, to the console. Tools and the QEMU
// tests wait for that prefix.
//
// Configuration precedence is spelled out once, in Config's documentation;
// who may do what on the status page, in auth.go.
package appliance
