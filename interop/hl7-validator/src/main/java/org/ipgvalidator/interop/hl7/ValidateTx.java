package org.ipgvalidator.interop.hl7;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.hl7.fhir.model.utilities.formats.FhirFormat;
import org.hl7.fhir.standalone.terminology.client.TerminologyClientContext;
import org.hl7.fhir.services.validation.constants.ReferenceValidationPolicy;
import org.hl7.fhir.utilities.FhirPublication;
import org.hl7.fhir.utilities.TimeTracker;
import org.hl7.fhir.utilities.VersionUtil;
import org.hl7.fhir.utilities.http.ManagedWebAccess;
import org.hl7.fhir.utilities.validation.ValidationMessage;
import org.hl7.fhir.utilities.npm.NpmPackage;
import org.hl7.fhir.validation.IgLoader;
import org.hl7.fhir.validation.ValidationEngine;
import org.hl7.fhir.validation.ValidatorUtils;
import org.hl7.fhir.validation.instance.advisor.BasePolicyAdvisorForFullValidation;
import org.hl7.fhir.validation.service.StandAloneValidatorFetcher;
import org.hl7.fhir.validation.service.model.InstanceValidatorParameters;

/**
 * The HL7 validator's {@code validate} command with {@code -version 4.0.1 -tx URL -ig PACKAGE}, over the
 * example Bundles: each Bundle is validated as the CLI validates a file, and each Procedure and Condition entry
 * again with {@code -profile} of its IPG672 profile (whose required binding makes the validator ask the server).
 *
 * <p>The engine is set up with the steps of the CLI's ValidationService (core package, terminology server with
 * {@code -no-ecosystem}, which {@code -tx} implies, the IG, the stand-alone fetcher and full-validation policy),
 * offline: packages come from the cache that {@link PackageCache} filled, found through {@code user.home} as
 * the validator finds its cache. One difference, forced by what the registries serve: the CLI pins
 * hl7.terminology.r4 and hl7.fhir.uv.extensions.r4 to versions only packages.fhir.org has, so the versions the
 * npm registry serves are loaded in their place ({@link #PINNED}).
 *
 * <p>Usage: {@code ValidateTx TX_URL IG_PACKAGE REPORT.json TX_LOG EXAMPLES_FOLDER}. The report holds every
 * message per file and pass, and whether the server was accepted without
 * {@code -authorise-non-conformant-tx-servers} (the run itself is made with it).
 */
public final class ValidateTx {
  static final String BASE = "https://ipg-validator.org/fhir/StructureDefinition/";
  static final Map<String, String> PROFILES = Map.of("Procedure", BASE + "ipg672-procedure", "Condition", BASE + "ipg672-condition");
  /**
   * THO and the extensions pack, at the version the cache holds (Makefile FHIR_NPM_PACKAGES: what the npm registry
   * serves; the CLI pins 6.2.0 and 5.2.0). Each declares the other at a version npm lacks, so they are loaded
   * without their dependencies.
   */
  static final List<String> NPM_PACKAGES = List.of("hl7.terminology.r4", "hl7.fhir.uv.extensions.r4");

  private ValidateTx() {
  }

  /** The engine as the CLI's ValidationService builds it for {@code -tx URL -ig PACKAGE}, from the local cache. */
  static ValidationEngine engine(String tx, String txLog, String ig) throws Exception {
    ValidationEngine engine = new ValidationEngine.ValidationEngineBuilder()
        .withDefaultInstanceValidatorParameters(new InstanceValidatorParameters())
        .withVersion(PackageCache.CORE_VERSION)
        .withTimeTracker(new TimeTracker())
        .fromSource(PackageCache.CORE + "#" + PackageCache.CORE_VERSION);
    for (String id : NPM_PACKAGES) {
      String version = engine.getPcm().getLatestVersionFromCache(id);
      if (version == null) {
        throw new IllegalStateException(id + " is not in the package cache: run `make interop-build`");
      }
      NpmPackage npm = engine.getPcm().loadPackage(id, version);
      engine.getContext().loadFromPackage(npm, ValidatorUtils.loaderForVersion(engine.getContext().getModelContext(), npm.fhirVersion()));
    }
    engine.setTerminologyServer(tx, txLog, FhirPublication.R4, false);
    IgLoader loader = new IgLoader(engine.getPcm(), engine.getContext(), engine.getVersion(), engine.isDebug());
    loader.loadIg(engine.getIgs(), engine.getBinaries(), ig, false);
    StandAloneValidatorFetcher fetcher = new StandAloneValidatorFetcher(engine.getPcm(), engine.getContext(), engine);
    engine.setFetcher(fetcher);
    engine.getContext().setLocator(fetcher);
    engine.setPolicyAdvisor(fetcher);
    fetcher.setReferencePolicy(ReferenceValidationPolicy.IGNORE); // the CLI's default, without -check-references
    engine.getPolicyAdvisor().setPolicyAdvisor(
        new BasePolicyAdvisorForFullValidation(engine.getPolicyAdvisor().getReferencePolicy(), engine.getCheckReferencesTo()));
    engine.prepare();
    return engine;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: ValidateTx TX_URL IG_PACKAGE REPORT.json TX_LOG EXAMPLES_FOLDER");
      System.exit(2);
    }
    String tx = args[0];
    // as the CLI's options do: -authorise-non-conformant-tx-servers, and plain http to loopback
    TerminologyClientContext.setCanAllowNonConformantServers(true);
    TerminologyClientContext.setAllowNonConformantServers(true);
    ManagedWebAccess.setSsrfProtectionEnabled(false);

    ValidationEngine engine = engine(tx, args[3], args[1]);

    Map<String, Object> report = new LinkedHashMap<>();
    report.put("validator_version", VersionUtil.getVersion());
    report.put("packages", engine.getContext().loadedPackageSummary());
    report.putAll(probeWithoutFlag(engine, tx, args[3]));
    Map<String, Object> files = new LinkedHashMap<>();
    try (Stream<Path> listed = Files.list(Path.of(args[4]))) {
      for (Path file : listed.filter(ValidateTx::isExample).sorted().toList()) {
        files.put(file.getFileName().toString(), validate(engine, file));
      }
    }
    report.put("files", files);
    Gson gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls().create();
    Files.writeString(Path.of(args[2]), gson.toJson(report), StandardCharsets.UTF_8);
    System.out.println(files.size() + " examples validated");
  }

  private static boolean isExample(Path file) {
    String name = file.getFileName().toString();
    return name.endsWith(".json") && !name.endsWith(".expected.json");
  }

  /** Connects again without the flag, notes what the validator said, then reconnects as the run needs. */
  private static Map<String, Object> probeWithoutFlag(ValidationEngine engine, String tx, String log) throws Exception {
    Map<String, Object> out = new LinkedHashMap<>();
    TerminologyClientContext.setAllowNonConformantServers(false);
    try {
      String said = engine.setTerminologyServer(tx, log, FhirPublication.R4, false);
      out.put("accepted_without_flag", !said.startsWith("n/a"));
      out.put("without_flag", said);
    } catch (Exception e) {
      out.put("accepted_without_flag", false);
      out.put("without_flag", e.getMessage());
    } finally {
      TerminologyClientContext.setAllowNonConformantServers(true);
    }
    engine.setTerminologyServer(tx, log, FhirPublication.R4, false);
    return out;
  }

  /** The Bundle pass, then a profile pass per Procedure and Condition entry, locations rooted in the Bundle. */
  private static Map<String, Object> validate(ValidationEngine engine, Path file) throws Exception {
    byte[] bytes = Files.readAllBytes(file);
    List<Map<String, Object>> messages = new ArrayList<>();
    List<ValidationMessage> found = new ArrayList<>();
    engine.validate(bytes, FhirFormat.JSON, List.of(), found);
    found.forEach(m -> messages.add(message("bundle", null, m)));
    JsonElement parsed;
    try {
      parsed = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      parsed = null;
    }
    JsonArray entries = parsed != null && parsed.isJsonObject() && parsed.getAsJsonObject().has("entry")
        && parsed.getAsJsonObject().get("entry").isJsonArray() ? parsed.getAsJsonObject().getAsJsonArray("entry") : new JsonArray();
    Gson gson = new Gson();
    for (int i = 0; i < entries.size(); i++) {
      JsonObject entry = entries.get(i).isJsonObject() ? entries.get(i).getAsJsonObject() : new JsonObject();
      JsonObject resource = entry.has("resource") && entry.get("resource").isJsonObject() ? entry.getAsJsonObject("resource") : null;
      String type = resource == null || !resource.has("resourceType") ? null : resource.get("resourceType").getAsString();
      String profile = type == null ? null : PROFILES.get(type);
      if (profile == null) {
        continue;
      }
      found.clear();
      engine.validate(gson.toJson(resource).getBytes(StandardCharsets.UTF_8), FhirFormat.JSON, List.of(profile), found);
      String prefix = "Bundle.entry[" + i + "].resource";
      found.forEach(m -> messages.add(message(profile.substring(BASE.length()), prefix, m)));
    }
    return Map.of("messages", messages);
  }

  private static Map<String, Object> message(String pass, String prefix, ValidationMessage m) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("pass", pass);
    out.put("severity", m.getLevel() == null ? null : m.getLevel().toCode());
    out.put("type", m.getType() == null ? null : m.getType().toCode());
    out.put("location", location(prefix, m.getLocation()));
    out.put("message_id", m.getMessageId());
    out.put("text", m.getMessage());
    return out;
  }

  /** The validator's location of an entry pass (Procedure.code...) re-rooted in the Bundle. */
  static String location(String prefix, String location) {
    if (location == null || prefix == null) {
      return location;
    }
    int dot = location.indexOf('.');
    return dot < 0 ? prefix : prefix + location.substring(dot);
  }
}
