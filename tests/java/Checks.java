import java.nio.charset.StandardCharsets;

/**
 * What the test programs share: checks that count and print PASS/FAIL lines, and the
 * exit status they add up to. A program extends it to call them unqualified.
 */
public class Checks {
    static int failures = 0;
    static int passes = 0;

    static void check(boolean ok, String what, Object detail) {
        if (ok) {
            passes++;
            System.out.println("PASS " + what);
        } else {
            failures++;
            System.out.println("FAIL " + what + ": " + detail);
        }
    }

    static void check(boolean ok, String what) {
        check(ok, what, "");
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String s(byte[] data) {
        return data == null ? null : new String(data, StandardCharsets.UTF_8);
    }

    /** Counts an exception that ended the program early as a failure. */
    static void unexpected(Throwable t) {
        failures++;
        System.out.println("FAIL unexpected exception: " + t);
        t.printStackTrace(System.out);
    }

    /** Prints the totals and exits 0 only if every check passed. */
    static void exitWithResult() {
        System.out.println((failures == 0 ? "OK" : "FAILED") + ": " + passes + " passed, " + failures + " failed");
        System.exit(failures == 0 ? 0 : 1);
    }
}
