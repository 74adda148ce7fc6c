package org.ipgvalidator.interop.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.util.VersionUtil;
import ca.uhn.fhir.validation.FhirValidator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.RemoteTerminologyServiceValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

/**
 * HAPI FHIR's validator with ipg-validator as its remote terminology service, over the example Bundles.
 *
 * <pre>java -cp 'target/hapi-client-0.1.0.jar:target/lib/*' org.ipgvalidator.interop.hapi.Main \
 *     --server http://127.0.0.1:8080/fhir --package dist/ipg-validator.ipg672-X.tgz [--out result.json] guidance/ipg672/examples/</pre>
 *
 * One JVM validates every file (start-up is the slow part) and prints one JSON document: per file, the
 * messages of each validation pass, and every request HAPI sent to the server.
 */
public final class Main {
	/** The code systems a HAPI JPA server sends to ipg-validator unless --remote-system says otherwise. */
	static final List<String> DEFAULT_REMOTE_SYSTEMS =
			List.of("http://fhir.hl7.org.uk/CodeSystem/OPCS-4", "http://hl7.org/fhir/sid/icd-10-uk");
	/** The system of a remote_terminology_service entry that sends every system to the server. */
	static final String ALL_SYSTEMS = "*";

	private Main() {}

	public static void main(String[] args) throws IOException {
		long started = System.nanoTime();
		Arguments arguments = Arguments.parse(args);
		if (arguments == null) {
			System.err.println("usage: Main --server FHIR_BASE --package PACKAGE.tgz [--remote-system URI|*]... [--out FILE] FILE_OR_DIR...");
			System.exit(2);
			return;
		}
		FhirContext context = FhirContext.forR4();
		RequestRecorder recorder = new RequestRecorder();
		ValidationSupportChain chain = chain(context, arguments.server, arguments.systems, arguments.packageFile, recorder);
		FhirValidator validator = context.newValidator().registerValidatorModule(new FhirInstanceValidator(chain));
		ExampleValidator examples = new ExampleValidator(context, validator);
		long ready = System.nanoTime();

		Map<String, Object> files = new LinkedHashMap<>();
		for (Path file : inputs(arguments.inputs)) {
			files.put(file.toString(), examples.validate(file));
		}
		long done = System.nanoTime();

		Map<String, Object> report = new LinkedHashMap<>();
		report.put("hapi_version", VersionUtil.getVersion());
		report.put("validator_jar", jarOf(FhirInstanceValidator.class));
		report.put("core_validator_jar", jarOf(org.hl7.fhir.validation.instance.InstanceValidator.class));
		report.put("server", arguments.server);
		report.put("package", arguments.packageFile.toString());
		report.put("remote_systems", arguments.systems);
		report.put("setup_ms", (ready - started) / 1_000_000);
		report.put("validate_ms", (done - ready) / 1_000_000);
		report.put("files", files);
		report.put("requests", recorder.requests());
		ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
		String text = json.writeValueAsString(report);
		if (arguments.out != null) {
			Files.writeString(arguments.out, text);
		} else {
			System.out.println(text);
		}
		chain.stop();
		System.exit(0);
	}

	/** The validation support chain of a HAPI JPA server with our package installed and remote_terminology_service set. */
	static ValidationSupportChain chain(
			FhirContext context, String server, List<String> systems, Path packageFile, RequestRecorder recorder)
			throws IOException {
		ValidationSupportChain chain = new ValidationSupportChain(
				ValidationSupportChain.CacheConfiguration.defaultValues(),
				new DefaultProfileValidationSupport(context),
				PackageFile.load(context, packageFile),
				new CommonCodeSystemsTerminologyService(context),
				new InMemoryTerminologyServerValidationSupport(context),
				new SnapshotGeneratingValidationSupport(context));
		for (String system : systems) {
			RemoteTerminologyServiceValidationSupport remote = ALL_SYSTEMS.equals(system)
					? new RemoteTerminologyServiceValidationSupport(context, server)
					: new SystemRemoteTerminology(context, server, system);
			remote.addClientInterceptor(recorder);
			chain.addValidationSupport(0, remote); // first in the chain, as the JPA server puts it
		}
		return chain;
	}

	/** Every .json file named, or inside a named folder, but the .expected.json outcomes; sorted. */
	static List<Path> inputs(List<Path> named) throws IOException {
		List<Path> found = new ArrayList<>();
		for (Path path : named) {
			if (Files.isDirectory(path)) {
				try (Stream<Path> listing = Files.list(path)) {
					listing.filter(p -> p.getFileName().toString().endsWith(".json"))
							.filter(p -> !p.getFileName().toString().endsWith(".expected.json"))
							.sorted()
							.forEach(found::add);
				}
			} else {
				found.add(path);
			}
		}
		return found;
	}

	private static String jarOf(Class<?> type) {
		var source = type.getProtectionDomain().getCodeSource();
		return source == null ? null : Path.of(source.getLocation().getPath()).getFileName().toString();
	}

	/** The command line: --server, --package, --remote-system (repeated), --out and the inputs. */
	record Arguments(String server, Path packageFile, List<String> systems, Path out, List<Path> inputs) {
		static Arguments parse(String[] args) {
			String server = null;
			Path packageFile = null;
			Path out = null;
			List<Path> inputs = new ArrayList<>();
			List<String> systems = new ArrayList<>();
			for (int i = 0; i < args.length; i++) {
				switch (args[i]) {
					case "--server" -> server = i + 1 < args.length ? args[++i] : null;
					case "--package" -> packageFile = i + 1 < args.length ? Path.of(args[++i]) : null;
					case "--remote-system" -> systems.add(i + 1 < args.length ? args[++i] : null);
					case "--out" -> out = i + 1 < args.length ? Path.of(args[++i]) : null;
					default -> inputs.add(Path.of(args[i]));
				}
			}
			if (server == null || packageFile == null || inputs.isEmpty() || systems.contains(null)) {
				return null;
			}
			if (systems.contains(ALL_SYSTEMS) && systems.size() > 1) {
				return null; // as in the JPA server, "*" stands alone
			}
			return new Arguments(server, packageFile, systems.isEmpty() ? DEFAULT_REMOTE_SYSTEMS : systems, out, inputs);
		}
	}
}
