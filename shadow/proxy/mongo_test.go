package proxy_test

import (
	"context"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// legacyDropper returns a function dropping the test's legacy database.
func legacyDropper(ctx context.Context, uri, db string) (func(), error) {
	c, err := mongo.Connect(ctx, options.Client().ApplyURI(uri))
	if err != nil {
		return nil, err
	}
	return func() {
		_ = c.Database(db).Drop(ctx)
		_ = c.Disconnect(ctx)
	}, nil
}
