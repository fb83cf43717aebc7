/*
 * Brooks local development: starts one genuine Elasticsearch 8.19 node from
 * the Maven Central jars (server + test framework + Netty4 transport).
 *
 * server.sh passes three system properties:
 *   brooks.es.home  path.home (its config/ holds elasticsearch.yml and log4j2.properties)
 *   brooks.es.data  path.data (indices; persists across restarts)
 *   brooks.es.logs  path.logs
 * Every other node setting comes from config/elasticsearch.yml.
 *
 * The node runs until the JVM receives SIGTERM (or SIGINT); the main thread
 * then closes the node, waits for it to finish, flushes the logs and exits 0.
 */

import com.carrotsearch.randomizedtesting.LocalNodeContext;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.MockNode;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class LocalElasticsearch {

    private LocalElasticsearch() {}

    public static void main(String[] args) throws Exception {
        // Must come before anything touches log4j (see LogConfigurator#registerErrorListener).
        LogConfigurator.registerErrorListener();

        Settings input = Settings.builder()
            .put("path.home", requiredDir("brooks.es.home"))
            .put("path.data", requiredDir("brooks.es.data"))
            .put("path.logs", requiredDir("brooks.es.logs"))
            .build();

        // Same preparation MockNode does; it loads config/elasticsearch.yml under path.home.
        Environment env = InternalSettingsPreparer.prepareEnvironment(input, Map.of(), null, () -> "brooks-local");
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        // Production logging set-up: reads config/log4j2.properties, installs the ES logger
        // factory, routes System.out/err and java.util.logging through log4j.
        LogConfigurator.configure(env, true); // true: keep the console appender of log4j2.properties
        Logger log = LogManager.getLogger(LocalElasticsearch.class);

        // SIGTERM/SIGINT only release the latch; the main thread then closes the node and exits.
        // (Not a shutdown hook: ESTestCase registers one that shuts log4j down, which would race
        // with the node's close.) A signal that arrives during startup is served once started.
        CountDownLatch stop = new CountDownLatch(1);
        SignalHandler onSignal = signal -> stop.countDown();
        Signal.handle(new Signal("TERM"), onSignal);
        Signal.handle(new Signal("INT"), onSignal);

        MockNode node;
        try {
            initTestFramework();
            // The prepared settings (elasticsearch.yml included), so that transport.port is explicit:
            // MockNode would otherwise put a test port range in front of the yml value.
            node = new MockNode(env.settings(), List.of(Netty4Plugin.class, BrooksShims.class));
            node.start();
        } catch (Throwable t) {
            log.fatal("Elasticsearch node failed to start", t);
            exit(1);
            return;
        }
        log.info("Elasticsearch node started (pid {})", ProcessHandle.current().pid());

        stop.await();
        log.info("stop signal received, closing the node");
        int status = 0;
        try {
            node.prepareForClose();
            node.close();
            if (node.awaitClose(60, TimeUnit.SECONDS) == false) {
                log.warn("node did not close within 60s");
                status = 1;
            } else {
                log.info("node closed");
            }
        } catch (Throwable t) {
            log.error("error while closing the node", t);
            status = 1;
        }
        exit(status);
    }

    private static void exit(int status) {
        // log4j's own shutdown hook is off (-Dlog4j.shutdownHookEnabled=false): flush it here.
        Configurator.shutdown((LoggerContext) LogManager.getContext(false));
        System.exit(status);
    }

    /**
     * MockNode's constructor calls ESTestCase.getPortRange(), so ESTestCase's static initialiser
     * runs: test seed; BootstrapForTesting (natives with the refuse-to-run-as-root check, system
     * call filter, jar-hell check); system properties meant for unit tests, notably
     * io.netty.leakDetection.level=paranoid. Run it up front, then put those properties back to
     * what this JVM was started with, before any Netty class is loaded.
     */
    private static void initTestFramework() throws Exception {
        String[] keys = {
            "io.netty.leakDetection.level",
            "es.use_unpooled_allocator",
            "es.set.netty.runtime.available.processors",
            "es.datetime.java_time_parsers" };
        Map<String, String> before = new HashMap<>();
        for (String key : keys) {
            before.put(key, System.getProperty(key));
        }
        Class.forName("org.elasticsearch.test.ESTestCase", true, LocalElasticsearch.class.getClassLoader());
        // Also needs a test context: see com.carrotsearch.randomizedtesting.LocalNodeContext.
        LocalNodeContext.install();
        for (String key : keys) {
            String value = before.get(key);
            if (value == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, value);
            }
        }
    }

    private static String requiredDir(String property) throws Exception {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("system property " + property + " is required");
        }
        Path dir = Path.of(value).toAbsolutePath();
        Files.createDirectories(dir);
        return dir.toString();
    }
}
