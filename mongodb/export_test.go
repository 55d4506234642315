package mongodb

import "go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

// SnapshotsWriteConcern is the write concern snapshots are inserted with (nil: the server's
// default), for the tests.
func (s *Store) SnapshotsWriteConcern() *writeconcern.WriteConcern { return s.snapshotsWriteConcern() }
