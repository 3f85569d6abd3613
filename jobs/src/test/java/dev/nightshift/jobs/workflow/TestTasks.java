package dev.nightshift.jobs.workflow;

import java.nio.file.Files;
import java.nio.file.Path;

/** Main classes for workflow tasks in child JVMs: they start in well under a second and do one thing each. */
final class TestTasks {

    private TestTasks() {
    }

    /** Exits 3 on its first run and 0 after: the file named by args[0] remembers the first run. */
    static final class Flaky {
        public static void main(String[] args) throws Exception {
            Path marker = Path.of(args[0]);
            if (Files.exists(marker)) {
                System.out.println("second attempt: fine");
                return;
            }
            Files.writeString(marker, "failed once");
            System.out.println("first attempt: failing");
            System.exit(3);
        }
    }

    /** Sleeps args[0] seconds. */
    static final class Sleep {
        public static void main(String[] args) throws Exception {
            System.out.println("sleeping");
            Thread.sleep(Long.parseLong(args[0]) * 1000);
        }
    }

    /** Appends its name (args[0]) to the file args[1], so a test sees the order tasks ran in. */
    static final class Record {
        public static void main(String[] args) throws Exception {
            Files.writeString(Path.of(args[1]), args[0] + "\n", java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        }
    }
}
