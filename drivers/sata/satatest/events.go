package satatest

import (
	"os"
	"sync"

	"github.com/postvault/postvault/drivers/sata"
)

// Events is a uevent source fed by the test. Messages go through the wire
// format, so that sata.ParseUevent sees what the kernel would send.
type Events struct {
	ch        chan []byte
	done      chan struct{}
	closeOnce sync.Once
}

var _ sata.UeventSource = (*Events)(nil)

// NewEvents returns an empty source.
func NewEvents() *Events {
	return &Events{ch: make(chan []byte, 256), done: make(chan struct{})}
}

// Send queues u.
func (e *Events) Send(u *sata.Uevent) { e.SendRaw(u.Marshal()) }

// SendRaw queues a raw message; one that does not parse is skipped by Read,
// as the socket does.
func (e *Events) SendRaw(b []byte) { e.ch <- b }

// Lose makes Read report lost events (a receive buffer overflow).
func (e *Events) Lose() { e.ch <- nil }

// Read implements sata.UeventSource.
func (e *Events) Read() (*sata.Uevent, error) {
	for {
		select {
		case <-e.done:
			return nil, os.ErrClosed
		case b := <-e.ch:
			if b == nil {
				return nil, sata.ErrLost
			}
			if u, err := sata.ParseUevent(b); err == nil {
				return u, nil
			}
		}
	}
}

// Close implements sata.UeventSource.
func (e *Events) Close() error {
	e.closeOnce.Do(func() { close(e.done) })
	return nil
}

// DiskUevents are the uevents the kernel sends when a disk at devpath (its
// block device) appears or goes ("add" or "remove"), in the kernel's order.
func DiskUevents(action, devpath string) []*sata.Uevent {
	sdev := devpath[:len(devpath)-len("/block/")-len(base(devpath))]
	name := base(devpath)
	target := sdev[:len(sdev)-len(base(sdev))-1]
	add := []*sata.Uevent{
		{Action: action, DevPath: target, Subsystem: "scsi", DevType: "scsi_target"},
		{Action: action, DevPath: sdev, Subsystem: "scsi", DevType: "scsi_device"},
		{Action: action, DevPath: sdev + "/scsi_disk/" + base(sdev), Subsystem: "scsi_disk"},
		{Action: action, DevPath: sdev + "/scsi_device/" + base(sdev), Subsystem: "scsi_device"},
		{Action: action, DevPath: devpath, Subsystem: "block", DevType: "disk", DevName: name},
	}
	if action == "remove" {
		for i, j := 0, len(add)-1; i < j; i, j = i+1, j-1 {
			add[i], add[j] = add[j], add[i]
		}
	}
	return add
}

func base(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
