package org.ipgvalidator.interop.hl7;

import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.hl7.fhir.r4.formats.IParser;
import org.hl7.fhir.r4.formats.JsonParser;
import org.hl7.fhir.r4.formats.XmlParser;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.utilities.npm.FilesystemPackageCacheManager;
import org.hl7.fhir.utilities.npm.NpmPackage;

/**
 * Fills a FHIR package cache for the validator to run offline. The npm registry does not serve
 * {@code hl7.fhir.r4.core}, so its 4.0.1 package is written from the R4 definitions that Maven
 * Central ships in {@code hapi-fhir-validation-resources-r4} (on the classpath); the other packages
 * come as npm tarballs ({@code npm pack} at build time) and are installed as the validator installs
 * a download.
 *
 * <p>Usage: {@code PackageCache CACHE_FOLDER [PACKAGE.tgz ...]}.
 */
public final class PackageCache {
  static final String CORE = "hl7.fhir.r4.core";
  static final String CORE_VERSION = "4.0.1";
  /** The R4 definitions in hapi-fhir-validation-resources-r4: the bundles of the R4 specification's definitions download. */
  private static final List<String> BUNDLES = List.of(
      "org/hl7/fhir/r4/model/profile/profiles-types.xml",
      "org/hl7/fhir/r4/model/profile/profiles-resources.xml",
      "org/hl7/fhir/r4/model/profile/profiles-others.xml",
      "org/hl7/fhir/r4/model/extension/extension-definitions.xml",
      "org/hl7/fhir/r4/model/valueset/valuesets.xml",
      "org/hl7/fhir/r4/model/valueset/v2-tables.xml",
      "org/hl7/fhir/r4/model/valueset/v3-codesystems.xml",
      "org/hl7/fhir/r4/model/sp/search-parameters.json");

  private PackageCache() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: PackageCache CACHE_FOLDER [PACKAGE.tgz ...]");
      System.exit(2);
    }
    Files.createDirectories(Path.of(args[0]));
    FilesystemPackageCacheManager cache = new FilesystemPackageCacheManager.Builder().withCacheFolder(args[0]).build();
    int written = writeCore(Path.of(args[0], CORE + "#" + CORE_VERSION, "package"));
    System.out.println(CORE + "#" + CORE_VERSION + ": " + written + " resources");
    for (int i = 1; i < args.length; i++) {
      NpmPackage read;
      try (InputStream in = new FileInputStream(args[i])) {
        read = NpmPackage.fromPackage(in);
      }
      try (InputStream in = new FileInputStream(args[i])) {
        cache.addPackageToCache(read.name(), read.version(), in, args[i]);
      }
      System.out.println(read.name() + "#" + read.version() + ": installed");
    }
  }

  /** One JSON file per resource of the R4 bundles, and the package.json of a core package. */
  private static int writeCore(Path folder) throws Exception {
    Files.createDirectories(folder);
    IParser json = new JsonParser();
    int count = 0;
    for (String name : BUNDLES) {
      Bundle bundle;
      try (InputStream in = PackageCache.class.getClassLoader().getResourceAsStream(name)) {
        if (in == null) {
          throw new IllegalStateException(name + " is not on the classpath (hapi-fhir-validation-resources-r4)");
        }
        bundle = (Bundle) (name.endsWith(".json") ? new JsonParser().parse(in) : new XmlParser().parse(in));
      }
      for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
        Resource resource = entry.getResource();
        if (resource == null || !resource.hasIdElement()) {
          continue;
        }
        String file = resource.fhirType() + "-" + resource.getIdElement().getIdPart() + ".json";
        Files.write(folder.resolve(file), json.composeBytes(resource));
        count++;
      }
    }
    String manifest = "{\n  \"name\": \"" + CORE + "\",\n  \"version\": \"" + CORE_VERSION + "\",\n"
        + "  \"tools-version\": 3,\n  \"type\": \"Core\",\n  \"license\": \"CC0-1.0\",\n"
        + "  \"canonical\": \"http://hl7.org/fhir\",\n  \"url\": \"http://hl7.org/fhir/R4\",\n"
        + "  \"title\": \"FHIR Core package\",\n"
        + "  \"description\": \"FHIR R4 definitions, written from hapi-fhir-validation-resources-r4\",\n"
        + "  \"fhirVersions\": [\"" + CORE_VERSION + "\"],\n  \"dependencies\": {}\n}\n";
    Files.writeString(folder.resolve("package.json"), manifest, StandardCharsets.UTF_8);
    return count;
  }
}
