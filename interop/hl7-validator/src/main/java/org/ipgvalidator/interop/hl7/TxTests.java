package org.ipgvalidator.interop.hl7;

import java.util.Set;

import org.hl7.fhir.utilities.http.ManagedWebAccess;
import org.hl7.fhir.validation.special.TxTester;

/**
 * The HL7 terminology test runner (TxTester of org.hl7.fhir.validation), run as the validator CLI's
 * {@code txTests} command runs it: tests from a local folder, mode {@code general}, results written
 * to {@code OUTPUT/test-results.json}.
 *
 * <p>Usage: {@code TxTests TESTS_FOLDER SERVER_URL OUTPUT_FOLDER [FILTER]}. Exit code 0 when every
 * test passed, 1 when some failed, 2 on bad arguments.
 */
public final class TxTests {
  private TxTests() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: TxTests TESTS_FOLDER SERVER_URL OUTPUT_FOLDER [FILTER]");
      System.exit(2);
    }
    // the server is plain http on loopback: what the CLI's `-ssrf-protection-enabled false` allows
    ManagedWebAccess.setSsrfProtectionEnabled(false);
    String filter = args.length > 3 ? args[3] : null;
    TxTester tester = new TxTester(new TxTester.InternalTxLoader(args[0], false), args[1], false, null, null);
    boolean ok = tester.setOutput(args[2]).execute(Set.of("general"), filter);
    System.exit(ok ? 0 : 1);
  }
}
