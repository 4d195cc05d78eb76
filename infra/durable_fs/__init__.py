"""A FUSE filesystem of our own under each broker's data dir that remembers what was not made durable
(written since the last fsync, or created/renamed/unlinked since the last fsync of the directory) and loses it
on command, as a machine that loses power does. `state` is the bookkeeping (pure, tested without FUSE),
`operations` the FUSE side, `daemon` the process, `disks` what the harness uses to run and drive it."""
