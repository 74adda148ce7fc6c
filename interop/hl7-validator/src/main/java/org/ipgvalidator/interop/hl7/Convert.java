package org.ipgvalidator.interop.hl7;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

import org.hl7.fhir.convertors.factory.VersionConvertorFactory_40_N;
import org.hl7.fhir.model.ModelContext;
import org.hl7.fhir.model.utilities.formats.OutputStyle;

/**
 * The version conversion the HL7 runner's R4 client applies (org.hl7.fhir.convertors, 40_N):
 * {@code to-r4} reads a resource as the test files are read and writes the R4 JSON that the client
 * sends; {@code from-r4} reads an R4 answer and writes it as the runner compares it.
 *
 * <p>Usage: {@code Convert to-r4|from-r4 IN_FOLDER OUT_FOLDER}: every *.json file of IN_FOLDER, by
 * name; a file that cannot be converted gets OUT/NAME.error with the message instead.
 */
public final class Convert {
  private Convert() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3 || !(args[0].equals("to-r4") || args[0].equals("from-r4"))) {
      System.err.println("usage: Convert to-r4|from-r4 IN_FOLDER OUT_FOLDER");
      System.exit(2);
    }
    boolean toR4 = args[0].equals("to-r4");
    File[] files = new File(args[1]).listFiles((d, n) -> n.endsWith(".json"));
    Files.createDirectories(Path.of(args[2]));
    int failed = 0;
    for (File f : files == null ? new File[0] : files) {
      byte[] src = Files.readAllBytes(f.toPath());
      try {
        String out = toR4 ? toR4(src) : fromR4(src);
        Files.writeString(Path.of(args[2], f.getName()), out);
      } catch (Exception e) {
        failed++;
        Files.writeString(Path.of(args[2], f.getName() + ".error"), String.valueOf(e));
      }
    }
    System.out.println((files == null ? 0 : files.length) + " converted, " + failed + " failed");
  }

  static String toR4(byte[] src) throws Exception {
    org.hl7.fhir.model.core.Resource n = new org.hl7.fhir.model.core.formats.JsonParser(ModelContext.fullCoreContext()).parse(src);
    org.hl7.fhir.r4.model.Resource r4 = VersionConvertorFactory_40_N.convertResource(n);
    return new org.hl7.fhir.r4.formats.JsonParser().setOutputStyle(org.hl7.fhir.r4.formats.IParser.OutputStyle.PRETTY).composeString(r4);
  }

  static String fromR4(byte[] src) throws Exception {
    org.hl7.fhir.r4.model.Resource r4 = new org.hl7.fhir.r4.formats.JsonParser().parse(src);
    org.hl7.fhir.model.core.Resource n = VersionConvertorFactory_40_N.convertResource(r4);
    return new org.hl7.fhir.model.core.formats.JsonParser(ModelContext.fullCoreContext()).setOutputStyle(OutputStyle.PRETTY).composeString(n);
  }
}
