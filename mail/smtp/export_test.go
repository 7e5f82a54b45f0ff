package smtp

// ByteData makes a server read DATA through go-smtp's byte-at-a-time
// reader, as before the block reader, for comparisons.
func ByteData(o *Options) { o.byteData = true }
