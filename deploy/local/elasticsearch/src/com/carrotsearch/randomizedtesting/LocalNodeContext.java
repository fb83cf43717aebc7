/*
 * Brooks local development (not part of randomizedtesting): lets the test
 * framework's MockNode run outside a JUnit run.
 *
 * The test framework puts randomizedtesting on the classpath, and then
 * org.elasticsearch.common.Randomness.get() (node id, shard allocation, ...)
 * asks RandomizedContext.current() for a Random, which fails on any thread
 * that does not belong to a RandomizedRunner thread group. RandomizedRunner
 * registers its context per ThreadGroup and lookups walk up the group
 * parents, so one context registered for the root thread group serves every
 * thread of the JVM. RandomizedContext.create is package-private, hence this
 * class lives in that package (it is loaded from the classpath, like the jar).
 */
package com.carrotsearch.randomizedtesting;

public final class LocalNodeContext {

    private LocalNodeContext() {}

    /** The "suite" the context belongs to: RandomizedRunner wants a public class with a public constructor. */
    public static final class Suite {
        public Suite() {}
    }

    /** Registers a randomized context for every thread of this JVM; call once, before the node is built. */
    public static void install() throws Exception {
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        RandomizedRunner runner = new RandomizedRunner(Suite.class);
        RandomizedContext context = RandomizedContext.create(root, Suite.class, runner);
        // create() leaves the calling thread with no Random (the runner normally pushes one);
        // other threads get a clone of the runner's on first use.
        context.push(runner.runnerRandomness.clone(Thread.currentThread()));
    }
}
