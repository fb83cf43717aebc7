/*
 * Brooks local development: REST endpoints that a real Elasticsearch gets from
 * modules Maven Central does not publish for 8.x, re-done in a few lines on
 * top of core actions. Responses carry the header "X-Brooks-Shim".
 *
 *   GET|HEAD /                         (module rest-root)  node/cluster/version info
 *   POST /{index}/_delete_by_query     (module reindex)    scroll + bulk delete
 *
 * _delete_by_query follows the real endpoint's contract for what Brooks uses:
 * body {"query": ..., "max_docs": n}; parameters q, refresh, conflicts
 * (abort|proceed), scroll_size, max_docs, routing, ignore_unavailable,
 * allow_no_indices, expand_wildcards; the response fields of the real one.
 * It snapshots the matches with a scroll and deletes each hit with
 * if_seq_no/if_primary_term, so a document changed meanwhile is a version
 * conflict, as in the real one. Not supported: wait_for_completion=false
 * (tasks), slices, throttling (accepted and ignored: slices,
 * requests_per_second, timeout, wait_for_active_shards, scroll, search_timeout).
 */

import org.elasticsearch.Build;
import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.action.DocWriteResponse;
import org.elasticsearch.action.admin.indices.refresh.RefreshRequest;
import org.elasticsearch.action.bulk.BulkItemResponse;
import org.elasticsearch.action.bulk.BulkRequest;
import org.elasticsearch.action.bulk.BulkResponse;
import org.elasticsearch.action.delete.DeleteRequest;
import org.elasticsearch.action.search.ClearScrollRequest;
import org.elasticsearch.action.search.SearchRequest;
import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.action.search.SearchScrollRequest;
import org.elasticsearch.action.support.IndicesOptions;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.document.DocumentField;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.index.query.AbstractQueryBuilder;
import org.elasticsearch.index.query.QueryBuilder;
import org.elasticsearch.index.query.QueryBuilders;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestChannel;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.search.builder.SearchSourceBuilder;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

public class BrooksShims extends Plugin implements ActionPlugin {

    static final String SHIM_HEADER = "X-Brooks-Shim";

    private volatile ClusterService clusterService;

    public BrooksShims() {}

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService = services.clusterService();
        return List.of();
    }

    @Override
    public Collection<RestHandler> getRestHandlers(
        Settings settings,
        NamedWriteableRegistry namedWriteableRegistry,
        RestController restController,
        ClusterSettings clusterSettings,
        IndexScopedSettings indexScopedSettings,
        SettingsFilter settingsFilter,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Supplier<DiscoveryNodes> nodesInCluster,
        Predicate<NodeFeature> clusterSupportsFeature
    ) {
        return List.of(new RootHandler(), new DeleteByQueryHandler());
    }

    /** GET / and HEAD /: the body of Elasticsearch's main action. */
    final class RootHandler extends BaseRestHandler {
        @Override
        public String getName() {
            return "brooks_root_shim";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            return channel -> {
                ClusterState state = clusterService.state();
                Build build = Build.current();
                XContentBuilder b = channel.newBuilder();
                b.startObject();
                b.field("name", state.nodes().getLocalNode().getName());
                b.field("cluster_name", state.getClusterName().value());
                b.field("cluster_uuid", state.metadata().clusterUUID());
                b.startObject("version")
                    .field("number", build.qualifiedVersion())
                    .field("build_flavor", build.flavor())
                    .field("build_type", build.type().displayName())
                    .field("build_hash", build.hash())
                    .field("build_date", build.date())
                    .field("build_snapshot", build.isSnapshot())
                    .field("lucene_version", IndexVersion.current().luceneVersion().toString())
                    .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                    .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                    .endObject();
                b.field("tagline", "You Know, for Search");
                b.endObject();
                RestResponse response = new RestResponse(RestStatus.OK, b);
                response.addHeader(SHIM_HEADER, "rest-root");
                channel.sendResponse(response);
            };
        }
    }

    /** POST /{index}/_delete_by_query, synchronous, on the generic thread pool. */
    static final class DeleteByQueryHandler extends BaseRestHandler {
        private static final TimeValue KEEP_ALIVE = TimeValue.timeValueMinutes(5);
        private static final List<String> IGNORED_PARAMS = List.of(
            "slices", "requests_per_second", "timeout", "wait_for_active_shards", "scroll", "search_timeout");

        @Override
        public String getName() {
            return "brooks_delete_by_query_shim";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.POST, "/{index}/_delete_by_query"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
            if (request.paramAsBoolean("wait_for_completion", true) == false) {
                throw new IllegalArgumentException("wait_for_completion=false is not supported by the local _delete_by_query shim");
            }
            IGNORED_PARAMS.forEach(request::param);
            Job job = new Job();
            job.indices = Strings.splitStringByCommaToArray(request.param("index"));
            job.options = IndicesOptions.fromRequest(request, SearchRequest.DEFAULT_INDICES_OPTIONS);
            job.refresh = request.paramAsBoolean("refresh", false);
            job.proceedOnConflicts = "proceed".equals(request.param("conflicts", "abort"));
            job.batchSize = request.paramAsInt("scroll_size", 1000);
            job.maxDocs = request.paramAsInt("max_docs", -1);
            job.routing = request.param("routing");
            String q = request.param("q");
            job.query = q == null ? QueryBuilders.matchAllQuery() : QueryBuilders.queryStringQuery(q);
            if (request.hasContentOrSourceParam()) {
                try (XContentParser parser = request.contentOrSourceParamParser()) {
                    if (parser.nextToken() != XContentParser.Token.START_OBJECT) {
                        throw new IllegalArgumentException("request body must be an object");
                    }
                    while (parser.nextToken() == XContentParser.Token.FIELD_NAME) {
                        String field = parser.currentName();
                        parser.nextToken();
                        switch (field) {
                            case "query" -> job.query = AbstractQueryBuilder.parseTopLevelQuery(parser);
                            case "max_docs" -> job.maxDocs = parser.intValue();
                            default -> throw new IllegalArgumentException(
                                "[" + field + "] is not supported by the local _delete_by_query shim");
                        }
                    }
                }
            }
            return channel -> client.threadPool().generic().execute(() -> {
                try {
                    job.run(client, channel);
                } catch (Exception e) {
                    try {
                        channel.sendResponse(new RestResponse(channel, e));
                    } catch (IOException inner) {
                        e.addSuppressed(inner);
                        throw new IllegalStateException(e);
                    }
                }
            });
        }
    }

    static final class Job {
        String[] indices;
        IndicesOptions options;
        QueryBuilder query;
        boolean refresh;
        boolean proceedOnConflicts;
        int batchSize;
        int maxDocs;
        String routing;

        void run(NodeClient client, RestChannel channel) throws IOException {
            long startNanos = System.nanoTime();
            long total;
            long deleted = 0;
            long batches = 0;
            long conflicts = 0;
            long seen = 0;
            List<BulkItemResponse.Failure> failures = new ArrayList<>();

            SearchRequest first = new SearchRequest(indices).indicesOptions(options)
                .routing(routing)
                .scroll(DeleteByQueryHandler.KEEP_ALIVE)
                .source(new SearchSourceBuilder().query(query).size(batchSize).fetchSource(false)
                    .sort("_doc").seqNoAndPrimaryTerm(true).trackTotalHits(true));
            SearchResponse page = client.search(first).actionGet();
            String scrollId = null;
            try {
                total = page.getHits().getTotalHits().value;
                if (maxDocs >= 0) {
                    total = Math.min(total, maxDocs);
                }
                while (true) {
                    if (page.getFailedShards() > 0) {
                        throw new ElasticsearchException("search failed on " + page.getFailedShards() + " shard(s)",
                            page.getShardFailures()[0].getCause());
                    }
                    scrollId = page.getScrollId();
                    BulkRequest bulk = new BulkRequest();
                    for (SearchHit hit : page.getHits().getHits()) {
                        if (maxDocs >= 0 && seen >= maxDocs) {
                            break;
                        }
                        seen++;
                        DeleteRequest delete = new DeleteRequest(hit.getIndex(), hit.getId())
                            .setIfSeqNo(hit.getSeqNo()).setIfPrimaryTerm(hit.getPrimaryTerm());
                        DocumentField hitRouting = hit.field("_routing");
                        if (hitRouting != null) {
                            delete.routing(hitRouting.getValue().toString());
                        }
                        bulk.add(delete);
                    }
                    page.decRef();
                    page = null;
                    if (bulk.numberOfActions() == 0) {
                        break;
                    }
                    BulkResponse result = client.bulk(bulk).actionGet();
                    batches++;
                    boolean abort = false;
                    for (BulkItemResponse item : result.getItems()) {
                        if (item.isFailed()) {
                            if (item.getFailure().getStatus() == RestStatus.CONFLICT) {
                                conflicts++;
                                if (proceedOnConflicts) {
                                    continue;
                                }
                            }
                            failures.add(item.getFailure());
                            abort = true;
                        } else if (item.getResponse().getResult() == DocWriteResponse.Result.DELETED) {
                            deleted++;
                        }
                    }
                    if (abort || (maxDocs >= 0 && seen >= maxDocs)) {
                        break;
                    }
                    page = client.searchScroll(new SearchScrollRequest(scrollId).scroll(DeleteByQueryHandler.KEEP_ALIVE)).actionGet();
                }
            } finally {
                if (page != null) {
                    page.decRef();
                }
                if (scrollId != null) {
                    ClearScrollRequest clear = new ClearScrollRequest();
                    clear.addScrollId(scrollId);
                    client.clearScroll(clear); // fire and forget
                }
            }
            if (refresh) {
                client.admin().indices().refresh(new RefreshRequest(indices).indicesOptions(options)).actionGet();
            }

            XContentBuilder b = channel.newBuilder();
            b.startObject();
            b.field("took", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
            b.field("timed_out", false);
            b.field("total", total);
            b.field("deleted", deleted);
            b.field("batches", batches);
            b.field("version_conflicts", conflicts);
            b.field("noops", 0);
            b.startObject("retries").field("bulk", 0).field("search", 0).endObject();
            b.field("throttled_millis", 0);
            b.field("requests_per_second", -1.0);
            b.field("throttled_until_millis", 0);
            b.startArray("failures");
            for (BulkItemResponse.Failure failure : failures) {
                b.startObject();
                b.field("index", failure.getIndex());
                b.field("id", failure.getId());
                b.startObject("cause");
                ElasticsearchException.generateThrowableXContent(b, ToXContent.EMPTY_PARAMS, failure.getCause());
                b.endObject();
                b.field("status", failure.getStatus().getStatus());
                b.endObject();
            }
            b.endArray();
            b.endObject();
            RestStatus status = failures.isEmpty() ? RestStatus.OK : failures.get(0).getStatus();
            RestResponse response = new RestResponse(status, b);
            response.addHeader(SHIM_HEADER, "delete_by_query");
            channel.sendResponse(response);
        }
    }
}
