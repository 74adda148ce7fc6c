package org.ipgvalidator.interop.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.parser.LenientErrorHandler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.hl7.fhir.common.hapi.validation.support.NpmPackageValidationSupport;
import org.hl7.fhir.utilities.npm.NpmPackage;

/**
 * The FHIR NPM package that {@code ipg-validator package --out DIR} writes, read from a file into HAPI's
 * {@link NpmPackageValidationSupport} (which itself reads packages from the classpath only): every resource
 * of the package's {@code package/} folder, the examples folder left out as HAPI leaves it out.
 */
final class PackageFile {
	private PackageFile() {}

	static NpmPackageValidationSupport load(FhirContext context, Path file) throws IOException {
		NpmPackageValidationSupport support = new NpmPackageValidationSupport(context);
		NpmPackage npm;
		try (InputStream in = Files.newInputStream(file)) {
			npm = NpmPackage.fromPackage(in);
		}
		NpmPackage.NpmPackageFolder folder = npm.getFolders().get("package");
		if (folder == null) {
			throw new IOException(file + " has no package/ folder: not a FHIR NPM package");
		}
		IParser parser = context.newJsonParser().setParserErrorHandler(new LenientErrorHandler(false));
		int loaded = 0;
		for (String name : folder.listFiles()) {
			if (name.toLowerCase(Locale.ROOT).endsWith(".json") && !name.startsWith(".") && !name.equals("package.json")) {
				support.addResource(parser.parseResource(new String(folder.getContent().get(name), StandardCharsets.UTF_8)));
				loaded++;
			}
		}
		if (loaded == 0) {
			throw new IOException(file + " holds no FHIR resources");
		}
		return support;
	}
}
