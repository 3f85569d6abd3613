package dev.nightshift.jobs.nightly;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A Spark standalone cluster on loopback, made from the Maven artifacts: a temporary SPARK_HOME whose {@code jars/}
 * links every classpath jar that is not inside the application jar (so the cluster has Spark's own dependencies and
 * nothing of Nightshift's), a master and workers each in its own JVM, and {@code SparkSubmit} in another, as
 * {@code spark-submit} runs it. Executors are launched by the workers from SPARK_HOME, so their command lines stay
 * short ({@code -cp conf:jars/*}): ONNX Runtime 1.29 crashes when a JVM's command line is longer than about 4 KB.
 * Workers may be given GPUs through Spark's resource discovery ({@link WorkerGpus}): the real discovery script,
 * told what to announce by {@code NIGHTSHIFT_GPUS} (no GPU needed). Every JVM's output goes to a file under
 * {@code logs/}; {@link #close()} kills every JVM it started.
 */
final class StandaloneCluster implements AutoCloseable {

    private static final Pattern MASTER_URL = Pattern.compile("Starting Spark master at (spark://\\S+)");

    private final Path dir;
    private final Path home;
    private final Path appJar;
    private final List<String> jvmFlags;
    private final List<Process> daemons = new ArrayList<>();
    private final List<Path> workDirs = new ArrayList<>();
    private final Duration startTimeout;
    private final WorkerGpus gpus;
    private String url;

    /**
     * GPUs announced by the workers: each worker runs {@code discoveryScript} (conf/gpu/getGpusResources.sh) with
     * {@code NIGHTSHIFT_GPUS} set to its entry of {@code perWorker} (a comma-separated list of device indices), and
     * offers that many GPUs ({@code spark.worker.resource.gpu.amount}) to executors.
     */
    record WorkerGpus(Path discoveryScript, List<String> perWorker) {

        /** No GPU on any worker. */
        static final WorkerGpus NONE = new WorkerGpus(null, List.of());

        List<String> flags(int worker) {
            if (discoveryScript == null) {
                return List.of();
            }
            return List.of("-Dspark.worker.resource.gpu.amount=" + perWorker.get(worker).split(",").length,
                    "-Dspark.worker.resource.gpu.discoveryScript=" + discoveryScript.toAbsolutePath());
        }
    }

    private StandaloneCluster(Path dir, Path appJar, List<String> jvmFlags, Duration startTimeout, WorkerGpus gpus) {
        this.dir = dir;
        this.gpus = gpus;
        this.home = dir.resolve("spark-home");
        this.appJar = appJar;
        this.jvmFlags = jvmFlags;
        this.startTimeout = startTimeout;
    }

    /**
     * Starts a master and {@code workers} workers of one core and {@code workerMemory} each, and waits until every
     * worker has registered.
     *
     * @param classpath the jars the cluster's SPARK_HOME/jars is made from (those not inside {@code appJar})
     * @param gpus      what each worker's GPU discovery announces ({@link WorkerGpus#NONE}: no GPUs)
     * @throws IllegalStateException when a daemon does not come up within {@code startTimeout} (its log is quoted)
     */
    static StandaloneCluster start(Path dir, Path appJar, List<Path> classpath, List<String> jvmFlags, int workers,
                                   String workerMemory, Duration startTimeout, WorkerGpus gpus) throws IOException {
        if (gpus.discoveryScript() != null && gpus.perWorker().size() != workers) {
            throw new IllegalArgumentException(workers + " workers need as many GPU lists, got " + gpus.perWorker());
        }
        StandaloneCluster cluster = new StandaloneCluster(dir, appJar, jvmFlags, startTimeout, gpus);
        // Also when the test JVM is stopped (Surefire's fork timeout): no daemon outlives it.
        Runtime.getRuntime().addShutdownHook(new Thread(cluster::close, "standalone-cluster-close"));
        try {
            cluster.makeHome(classpath);
            cluster.startMaster();
            for (int i = 0; i < workers; i++) {
                cluster.startWorker(i, workerMemory);
            }
            return cluster;
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    String url() {
        return url;
    }

    Path logs() {
        return dir.resolve("logs");
    }

    /**
     * Whether most of a jar's classes are in the application jar under their own names (so the shade plugin put it
     * there unrelocated). Decided by content: not every jar carries Maven's pom.properties (Delta's do not).
     */
    static boolean inside(Path jar, Set<String> appClasses) throws IOException {
        long classes;
        long found;
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            List<String> names = zip.stream().map(ZipEntry::getName)
                    .filter(n -> n.endsWith(".class") && !n.startsWith("META-INF/")).toList();
            classes = names.size();
            found = names.stream().filter(appClasses::contains).count();
        }
        return classes > 0 && found * 2 > classes;
    }

    private static Set<String> classes(Path jar) throws IOException {
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            return zip.stream().map(ZipEntry::getName).filter(n -> n.endsWith(".class"))
                    .collect(java.util.stream.Collectors.toSet());
        }
    }

    private void makeHome(List<Path> classpath) throws IOException {
        Path jars = Files.createDirectories(home.resolve("jars"));
        Files.createDirectories(home.resolve("conf"));
        Files.createDirectories(logs());
        // Warnings only, but for the lines the test reads: the daemons' start-up and Nightshift's engine loads.
        Files.writeString(home.resolve("conf/log4j2.properties"), """
                rootLogger.level = warn
                rootLogger.appenderRef.stderr.ref = console
                appender.console.type = Console
                appender.console.name = console
                appender.console.target = SYSTEM_ERR
                appender.console.layout.type = PatternLayout
                appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex
                logger.deploy.name = org.apache.spark.deploy
                logger.deploy.level = info
                logger.nightshift.name = dev.nightshift
                logger.nightshift.level = info
                """);
        // The launcher takes jars/ (not a source build's assembly folder) when SPARK_HOME has a RELEASE file.
        Files.writeString(home.resolve("RELEASE"), "Spark from the Maven artifacts (Nightshift's cluster test)\n");
        Set<String> appClasses = classes(appJar);
        for (Path jar : classpath) {
            String name = jar.getFileName().toString();
            if (!name.endsWith(".jar") || !Files.isRegularFile(jar) || Files.exists(jars.resolve(name))
                    || inside(jar, appClasses)) {
                continue;
            }
            Files.createSymbolicLink(jars.resolve(name), jar.toAbsolutePath());
        }
    }

    private ProcessBuilder java(String heap, String mainClass, List<String> args, Path log) {
        return java(heap, List.of(), mainClass, args, log);
    }

    private ProcessBuilder java(String heap, List<String> properties, String mainClass, List<String> args, Path log) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add(heap);
        command.addAll(jvmFlags);
        command.addAll(properties);
        // Short-lived JVMs on a small box: C1 only, serial GC (as the test JVMs, see the parent pom).
        command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        command.add("-cp");
        command.add(home.resolve("conf") + ":" + home.resolve("jars") + "/*");
        command.add(mainClass);
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(key -> key.startsWith("SPARK_") || key.startsWith("HADOOP_") || key.startsWith("PYSPARK"));
        env.put("SPARK_HOME", home.toString());
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        // What bin/load-spark-env.sh sets; without it the launcher looks for a source build.
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("JAVA_HOME", System.getProperty("java.home"));
        return builder;
    }

    private void startMaster() throws IOException {
        Path log = logs().resolve("master.log");
        daemons.add(java("-Xmx192m", "org.apache.spark.deploy.master.Master",
                List.of("--host", "127.0.0.1", "--port", "0", "--webui-port", "0"), log).start());
        awaitLog(log, MASTER_URL, "the master");
        Matcher m = MASTER_URL.matcher(Files.readString(log));
        if (!m.find()) {
            throw new IllegalStateException("no master URL in " + log);
        }
        url = m.group(1);
    }

    private void startWorker(int index, String memory) throws IOException {
        Path work = Files.createDirectories(dir.resolve("work-" + index));
        workDirs.add(work);
        Path log = logs().resolve("worker-" + index + ".log");
        // Spark reads spark.worker.resource.* from the worker's system properties (there is no spark-defaults.conf).
        ProcessBuilder worker = java("-Xmx128m", gpus.flags(index), "org.apache.spark.deploy.worker.Worker",
                List.of("--host", "127.0.0.1", "--port", "0", "--webui-port", "0", "--cores", "1", "--memory", memory,
                        "--work-dir", work.toString(), url), log);
        if (gpus.discoveryScript() != null) {
            worker.environment().put("NIGHTSHIFT_GPUS", gpus.perWorker().get(index));
        }
        daemons.add(worker.start());
        awaitLog(log, Pattern.compile("Successfully registered with master"), "worker " + index);
    }

    private void awaitLog(Path log, Pattern line, String what) {
        await(() -> read(log).lines().anyMatch(l -> line.matcher(l).find()), startTimeout,
                () -> what + " did not start within " + startTimeout.toSeconds() + " s; its log:\n" + tail(log));
    }

    /**
     * Starts {@code SparkSubmit} (client mode: the driver runs in that JVM) with the application jar.
     *
     * @param properties the properties file ({@code --properties-file})
     * @param args       the application's arguments
     */
    Process submit(Path properties, List<String> args, Path log) throws IOException {
        List<String> submit = new ArrayList<>(List.of("--master", url, "--deploy-mode", "client", "--properties-file",
                properties.toString(), "--class", "dev.nightshift.jobs.cli.NightshiftCli", appJar.toString()));
        submit.addAll(args);
        Process driver = java("-Xmx640m", "org.apache.spark.deploy.SparkSubmit", submit, log).start();
        daemons.add(driver);
        return driver;
    }

    /**
     * An executor JVM a worker started: its id within its application, the index of the worker that started it, its
     * process, its stderr file.
     */
    record Executor(String appId, String id, int worker, Path stderr, Optional<ProcessHandle> process) {

        /** Lines of its stderr containing {@code text}. */
        long count(String text) {
            return read(stderr).lines().filter(l -> l.contains(text)).count();
        }
    }

    /** Every executor of the application {@code appId} so far (live or not), by worker work folders. */
    List<Executor> executors(String appId) {
        Map<String, Executor> found = new TreeMap<>();
        for (int worker = 0; worker < workDirs.size(); worker++) {
            Path app = workDirs.get(worker).resolve(appId);
            if (!Files.isDirectory(app)) {
                continue;
            }
            int index = worker;
            try (Stream<Path> ids = Files.list(app)) {
                ids.filter(Files::isDirectory).forEach(folder -> {
                    String id = folder.getFileName().toString();
                    found.put(id, new Executor(appId, id, index, folder.resolve("stderr"), process(appId, id)));
                });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return List.copyOf(found.values());
    }

    /** The one application the cluster ran since {@code before} (its work folder appeared), waiting for it. */
    String newApplication(Set<String> before, Duration timeout) {
        String[] found = new String[1];
        await(() -> {
            for (String app : applications()) {
                if (!before.contains(app)) {
                    found[0] = app;
                    return true;
                }
            }
            return false;
        }, timeout, () -> "no application started within " + timeout.toSeconds() + " s");
        return found[0];
    }

    /** Application ids that have a work folder on some worker. */
    Set<String> applications() {
        Set<String> apps = new HashSet<>();
        for (Path work : workDirs) {
            try (Stream<Path> list = Files.list(work)) {
                list.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("app-")).forEach(apps::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return apps;
    }

    private Optional<ProcessHandle> process(String appId, String executorId) {
        return daemons.stream().flatMap(Process::descendants).filter(p -> {
            String line = p.info().commandLine().orElse("");
            return line.contains("CoarseGrainedExecutorBackend") && line.contains("--app-id " + appId)
                    && line.contains("--executor-id " + executorId + " ");
        }).findFirst();
    }

    static void await(BooleanSupplier condition, Duration timeout, java.util.function.Supplier<String> failure) {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException(failure.get());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }

    static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last 60 lines of a log, for failure messages. */
    static String tail(Path log) {
        List<String> lines = read(log).lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    /** The JVM flags of {@code bin/nightshift} (the resource {@code nightshift-jvm.flags}), without the vector module. */
    static List<String> nightshiftFlags() {
        try (InputStream in = StandaloneCluster.class.getResourceAsStream("/nightshift-jvm.flags")) {
            String flags = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return Arrays.stream(flags.trim().split("\\s+"))
                    .filter(f -> !f.isEmpty() && !f.equals("--add-modules=jdk.incubator.vector")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Kills every JVM this cluster started (drivers, executors, workers, master), children first. */
    @Override
    public void close() {
        for (Process daemon : daemons) {
            daemon.descendants().forEach(ProcessHandle::destroyForcibly);
        }
        for (Process daemon : daemons) {
            daemon.destroyForcibly();
        }
        for (Process daemon : daemons) {
            try {
                daemon.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
