<resource schema="muse">
	<meta name="title">MUSE GTO data products and their quality control</meta>
	<meta name="description">
		Quality-controlled data products of the MUSE GTO consortium: final
		datacubes and white-light images (ObsCore, SIAv2, DataLink, SODA cutouts),
		extracted spectra, and the QC results behind them (per night, per IFU,
		master calibrations). Proprietary products are served to members of
		their owner group only until their release date.
	</meta>
	<meta name="creationDate">2026-11-23T00:00:00</meta>
	<!-- subjects from the IVOA UAT (http://ivoa.net/rdf/uat), as dachs val wants -->
	<meta name="subject">spectroscopy</meta>
	<meta name="subject">virtual-observatories</meta>
	<meta name="creator.name">MUSE GTO consortium</meta>
	<meta name="facility">ESO VLT</meta>
	<meta name="instrument">MUSE</meta>
	<meta name="_longdoc">
		Staged by ``musedc vo publish`` (JSON lines under stage/), imported with
		``dachs imp muse/q``. Only products in a publishable QA state are staged.
	</meta>

	<STREAM id="stageIterator">
		<iterator>
			<setup imports="os">
				<code>
					from gavo import api
					muselib, _ = api.loadPythonModule(os.path.join(
						base.getConfig("inputsDir"), "muse/res/muselib"))
				</code>
			</setup>
			<code>
				yield from muselib.iter_stage(self.sourceToken)
			</code>
		</iterator>
	</STREAM>

	<STREAM id="stageGrammar">
		<doc>Reads the staging file \src written by musedc vo publish.</doc>
		<sources>stage/\src</sources>
		<embeddedGrammar>
			<FEED source="stageIterator"/>
		</embeddedGrammar>
	</STREAM>

	<STREAM id="productGrammar">
		<doc>Reads the staging file \src of files served by /getproduct.</doc>
		<sources>stage/\src</sources>
		<embeddedGrammar>
			<FEED source="stageIterator"/>
			<rowfilter procDef="//products#define">
				<bind key="table">"\tableName"</bind>
				<bind key="accref">@p_accref</bind>
				<bind key="path">@p_path</bind>
				<bind key="fsize">@p_fsize</bind>
				<bind key="mime">"image/fits"</bind>
				<bind key="owner">@p_owner</bind>
				<bind key="embargo">@p_embargo</bind>
				<bind key="preview">@p_preview</bind>
				<bind key="preview_mime">"image/png"</bind>
			</rowfilter>
		</embeddedGrammar>
	</STREAM>

	<!-- ===================== cubes and images: ObsCore ===================== -->

	<table id="cubes" onDisk="True" adql="True" primary="file_id">
		<meta name="description">Final MUSE datacubes and white-light images in
			a publishable QA state, with their QC summary.</meta>
		<meta name="_associatedDatalinkService">
			<meta name="serviceId">dl</meta>
			<meta name="idColumn">pub_did</meta>
		</meta>
		<mixin>//products#table</mixin>
		<mixin
			dataproduct_type="dptype"
			calib_level="3"
			obs_collection="'MUSE-GTO'"
			obs_id="obs_id"
			did="pub_did"
			access_url="dl_url"
			access_format="'application/x-votable+xml;content=datalink'"
			access_estsize="accsize/1000"
			obs_title="obs_title"
			target_name="target_name"
			s_ra="s_ra"
			s_dec="s_dec"
			s_fov="s_fov"
			s_region="s_region"
			s_resolution="s_resolution"
			t_min="t_min"
			t_max="t_max"
			t_exptime="t_exptime"
			em_min="em_min"
			em_max="em_max"
			em_res_power="em_res_power"
			em_xel="em_xel"
			s_xel1="s_xel1"
			s_xel2="s_xel2"
			s_pixel_scale="s_pixel_scale"
			o_ucd="'phot.flux.density;em.wl'"
			facility_name="'ESO-VLT-U4'"
			instrument_name="'MUSE'"
			em_ucd="'em.wl'"
			@CUBES_BINDINGS@>//obscore#publish</mixin>

		<index columns="s_ra, s_dec">q3c_ang2ipix(s_ra, s_dec)</index>
		<index columns="s_ra, s_dec" name="cubes_pos_spoint" method="GIST"
			>spoint(RADIANS(s_ra), RADIANS(s_dec))</index>
		<index columns="s_region" method="GIST"/>
		<index columns="obs_id"/>
		<column name="file_id" type="bigint" required="True" ucd="meta.id"
			description="Identifier of the file in the QC catalogue"/>
		<column name="obs_id" type="text" ucd="meta.id"
			description="Observation identifier (the key of the QC tables)"/>
		<column name="obs_title" type="text" ucd="meta.title"
			description="Title of the product"/>
		<column name="pub_did" type="text" ucd="meta.ref.ivoid"
			description="Publisher DID of the product (ivoa.obscore obs_publisher_did; the ID of its DataLink)"/>
		<column name="dl_url" type="text" ucd="meta.ref.url"
			description="DataLink document of the product (ivoa.obscore access_url)"/>
		<column name="pro_catg" type="text" ucd="meta.code.class"
			description="ESO PRO CATG of the product"/>
		<column name="dptype" type="text" ucd="meta.code.class"
			description="ObsCore dataproduct type (cube, image)"/>
		<column name="night" type="date" ucd="time.epoch"
			description="ESO night of the observation (DATE-OBS minus 12 h)"/>
		<column name="target_name" type="text" ucd="meta.id;src"
			description="Target (ESO OBS TARG NAME or OBJECT)"/>
		<column name="s_ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main"
			description="Right ascension of the field centre (ICRS)"/>
		<column name="s_dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main"
			description="Declination of the field centre (ICRS)"/>
		<column name="s_fov" type="real" unit="deg" ucd="phys.angSize;instr.fov"
			description="Diameter of the field of view"/>
		<column name="s_region" type="spoly" xtype="adql:REGION" unit="deg" ucd="pos.outline;obs.field"
			description="Footprint of the field"/>
		<column name="s_resolution" type="real" unit="arcsec" ucd="pos.angResolution"
			description="Spatial resolution (PSF FWHM at 7000 A, else DIMM seeing)"/>
		<column name="t_min" type="double precision" unit="d" ucd="time.start;obs.exposure"
			description="Start of the observation (MJD)"/>
		<column name="t_max" type="double precision" unit="d" ucd="time.end;obs.exposure"
			description="End of the observation (MJD)"/>
		<column name="t_exptime" type="real" unit="s" ucd="time.duration;obs.exposure"
			description="Total exposure time"/>
		<column name="em_min" type="double precision" unit="m" ucd="em.wl;stat.min"
			description="Shortest wavelength"/>
		<column name="em_max" type="double precision" unit="m" ucd="em.wl;stat.max"
			description="Longest wavelength"/>
		<column name="em_res_power" type="real" ucd="spect.resolution"
			description="Typical spectral resolving power"/>
		<column name="em_xel" type="bigint" ucd="meta.number"
			description="Number of spectral pixels">
			<values nullLiteral="-1"/>
		</column>
		<column name="s_xel1" type="bigint" ucd="meta.number"
			description="Number of pixels along the first spatial axis">
			<values nullLiteral="-1"/>
		</column>
		<column name="s_xel2" type="bigint" ucd="meta.number"
			description="Number of pixels along the second spatial axis">
			<values nullLiteral="-1"/>
		</column>
		<column name="s_pixel_scale" type="real" unit="arcsec" ucd="phys.angSize;instr.pixel"
			description="Spatial sampling"/>
		<!-- the QC and ESO columns of ivoa.obscore: qcservice/vo/obscore_columns.py -->
		@CUBES_COLUMNS@
	</table>

	<table id="previews" onDisk="True" primary="accref">
		<meta name="description">Where the white-light preview of each product is
			(server side; not exposed through TAP).</meta>
		<column name="accref" type="text" description="Access reference of the product"/>
		<column name="path" type="text" description="Absolute path of the PNG"/>
	</table>

	<!-- ============ inputs: raw frames and master calibrations ============ -->

	<table id="inputs" onDisk="True" adql="True" primary="file_id">
		<meta name="description">Raw frames and master calibrations that the
			published products were made from (DataLink #progenitor and
			#calibration links point here).</meta>
		<mixin>//products#table</mixin>
		<column name="file_id" type="bigint" required="True" ucd="meta.id"
			description="Identifier of the file in the QC catalogue"/>
		<column name="filename" type="text" ucd="meta.id;meta.file"
			description="File name"/>
		<column name="kind" type="text" ucd="meta.code.class"
			description="raw or calib"/>
		<column name="catg" type="text" ucd="meta.code.class"
			description="ESO DPR CATG/TYPE of a raw frame, PRO CATG of a calibration"/>
		<column name="ifu" type="smallint" ucd="meta.id;instr"
			description="IFU (1-24) of a per-IFU calibration, NULL for whole files">
			<values nullLiteral="-1"/>
		</column>
		<column name="night" type="date" ucd="time.epoch"
			description="ESO night"/>
		<column name="qa_state" type="text" ucd="meta.code.qual"
			description="QA state of the file"/>
	</table>

	<table id="provenance" onDisk="True" adql="True">
		<meta name="description">Which inputs each published product was made
			from (ESO PRO RECi RAWj / CALj).</meta>
		<column name="obs_id" type="text" ucd="meta.id"
			description="The product (ivoa.obscore obs_id)"/>
		<column name="product_accref" type="text" ucd="meta.ref"
			description="Access reference of the product"/>
		<column name="input_file_id" type="bigint" required="True" ucd="meta.id"
			description="The input (muse.inputs file_id)"/>
		<column name="role" type="text" ucd="meta.code.class"
			description="raw (progenitor) or calib (calibration)"/>
	</table>

	<!-- ============================ QC tables ============================ -->

	<table id="nights" onDisk="True" adql="True">
		<meta name="description">One row per night and instrument mode: what QC
			saw and what was published.</meta>
		<column name="night" type="date" ucd="time.epoch"
			description="ESO night (DATE-OBS minus 12 h)"/>
		<column name="ins_mode" type="text" ucd="instr.setup"
			description="MUSE instrument mode"/>
		<column name="n_raw" type="integer" required="True" ucd="meta.number"
			description="Raw frames catalogued"/>
		<column name="n_products" type="integer" required="True" ucd="meta.number"
			description="Final cubes and images catalogued"/>
		<column name="n_published" type="integer" required="True" ucd="meta.number"
			description="Final cubes and images published (publishable QA state)"/>
		<column name="n_ifu_invalid" type="integer" required="True" ucd="meta.number"
			description="IFUs flagged invalid, over all files of the night"/>
		<column name="dimm_seeing_median" type="real" unit="arcsec"
			ucd="instr.obsty.seeing;stat.median"
			description="Median DIMM seeing of the night's raw science frames"/>
	</table>

	<table id="ifu_status" onDisk="True" adql="True">
		<meta name="description">Per-IFU QC flags and validity of published
			products and their inputs.</meta>
		<column name="obs_id" type="text" ucd="meta.id"
			description="ivoa.obscore obs_id of the product, or the input's file id"/>
		<column name="file_id" type="bigint" required="True" ucd="meta.id"
			description="Identifier of the file in the QC catalogue"/>
		<column name="night" type="date" ucd="time.epoch"
			description="ESO night"/>
		<column name="ifu" type="smallint" ucd="meta.id;instr"
			description="IFU number (1-24)">
			<values nullLiteral="-1"/>
		</column>
		<column name="is_valid" type="smallint" required="True" ucd="meta.code.qual"
			description="1 when QC (or a QC scientist) found the IFU valid, else 0"/>
		<column name="flags" type="text" ucd="meta.code.qual"
			description="Comma-separated QC flags raised for this IFU"/>
		<column name="decided_by" type="text" ucd="meta.id"
			description="auto, or the QC scientist who decided"/>
	</table>

	<table id="metrics" onDisk="True" adql="True">
		<meta name="description">QC metrics (harvested QC1 keywords and computed
			values), one value per row, of published products and their inputs.</meta>
		<column name="file_id" type="bigint" required="True" ucd="meta.id"
			description="Identifier of the file in the QC catalogue"/>
		<column name="obs_id" type="text" ucd="meta.id"
			description="ivoa.obscore obs_id of the product, or the input's file id"/>
		<column name="night" type="date" ucd="time.epoch"
			description="ESO night"/>
		<column name="ifu" type="smallint" ucd="meta.id;instr"
			description="IFU (NULL: the whole file)">
			<values nullLiteral="-1"/>
		</column>
		<column name="subunit" type="text" ucd="meta.id.part"
			description="Quadrant, slice, source or wavelength the value is for"/>
		<column name="name" type="text" ucd="meta.id"
			description="Metric name (ESO dictionary shape, or a computed name)"/>
		<column name="metric_value" type="double precision" ucd="stat.value"
			description="Value"/>
		<column name="unit" type="text" ucd="meta.unit"
			description="Unit of the value"/>
		<column name="source" type="text" ucd="meta.code"
			description="header (QC1 keyword) or computed (batch QC)"/>
	</table>

	<!-- ============ ancillary data and file checksums (musedc) ============ -->

	<table id="ancillary" onDisk="True" adql="True" primary="anc_id">
		<meta name="description">Images, cubes and catalogues of other
			instruments covering MUSE fields (musedc ancillary add), with their
			sky footprint; served by /getproduct, and listed as #counterpart in
			the DataLink of every MUSE product they overlap.</meta>
		<mixin>//products#table</mixin>
		<index columns="s_region" method="GIST"/>
		<column name="anc_id" type="bigint" required="True" ucd="meta.id"
			description="Identifier of the ancillary file in the catalogue"/>
		<column name="collection" type="text" ucd="meta.id;meta.dataset"
			description="Collection the file was registered in"/>
		<column name="filename" type="text" ucd="meta.id;meta.file"
			description="File name"/>
		<column name="kind" type="text" ucd="meta.code.class"
			description="image, cube or catalogue"/>
		<column name="instrument_name" type="text" ucd="meta.id;instr"
			description="Instrument (INSTRUME), when the file names it"/>
		<column name="facility_name" type="text" ucd="meta.id;instr.tel"
			description="Telescope (TELESCOP), when the file names it"/>
		<column name="band" type="text" ucd="meta.id;instr.filter"
			description="Filter of an image, when the header names it"/>
		<column name="n_rows" type="bigint" ucd="meta.number"
			description="Number of sources of a catalogue">
			<values nullLiteral="-1"/>
		</column>
		<column name="s_ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main"
			description="Right ascension of the footprint centre (ICRS)"/>
		<column name="s_dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main"
			description="Declination of the footprint centre (ICRS)"/>
		<!-- adql:REGION: served as STC-S (a spoly array in BINARY trips votlint) -->
		<column name="s_region" type="spoly" xtype="adql:REGION" unit="deg"
			ucd="pos.outline;obs.field"
			description="Sky footprint (image WCS, or RA/Dec extent of a catalogue)"/>
		<column name="checksum" type="text" ucd="meta.checksum"
			description="sha256:HEX of the whole file, taken at registration"/>
	</table>

	<table id="file_checksums" onDisk="True" adql="True">
		<meta name="description">Size and SHA-256 checksum, taken at ingest,
			of every file /getproduct serves (published products, their inputs,
			ancillary data): what downloads verify against.</meta>
		<index columns="publisher_did"/>
		<column name="publisher_did" type="text" ucd="meta.ref.ivoid"
			description="Publisher DID (ivoa.obscore obs_publisher_did; DataLink ID)"/>
		<column name="accref" type="text" ucd="meta.ref"
			description="Access reference: the file is /getproduct/ACCREF"/>
		<column name="filename" type="text" ucd="meta.id;meta.file"
			description="File name"/>
		<column name="size_bytes" type="bigint" unit="byte" ucd="phys.size;meta.file"
			description="Size of the file in bytes">
			<values nullLiteral="-1"/>
		</column>
		<column name="checksum" type="text" ucd="meta.checksum"
			description="sha256:HEX of the whole file (NULL when not taken at ingest)"/>
	</table>

	<!-- ============================== imports ============================== -->

	<data id="import_products">
		<FEED source="productGrammar" src="products.jsonl" tableName="muse.cubes"/>
		<make table="cubes">
			<rowmaker idmaps="*"/>
		</make>
	</data>

	<data id="import_previews">
		<FEED source="stageGrammar" src="previews.jsonl"/>
		<make table="previews"/>
	</data>

	<data id="import_inputs">
		<FEED source="productGrammar" src="inputs.jsonl" tableName="muse.inputs"/>
		<make table="inputs">
			<rowmaker idmaps="*"/>
		</make>
	</data>

	<data id="import_provenance">
		<FEED source="stageGrammar" src="provenance.jsonl"/>
		<make table="provenance"/>
	</data>

	<data id="import_nights">
		<FEED source="stageGrammar" src="nights.jsonl"/>
		<make table="nights"/>
	</data>

	<data id="import_ifu_status">
		<FEED source="stageGrammar" src="ifu_status.jsonl"/>
		<make table="ifu_status"/>
	</data>

	<data id="import_metrics">
		<FEED source="stageGrammar" src="metrics.jsonl"/>
		<make table="metrics"/>
	</data>

	<data id="import_ancillary">
		<sources>stage/ancillary.jsonl</sources>
		<embeddedGrammar>
			<FEED source="stageIterator"/>
			<rowfilter procDef="//products#define">
				<bind key="table">"muse.ancillary"</bind>
				<bind key="accref">@p_accref</bind>
				<bind key="path">@p_path</bind>
				<bind key="fsize">@p_fsize</bind>
				<bind key="mime">@p_mime</bind>
				<bind key="owner">@p_owner</bind>
				<bind key="embargo">@p_embargo</bind>
				<bind key="preview">None</bind>
			</rowfilter>
		</embeddedGrammar>
		<make table="ancillary">
			<rowmaker idmaps="*"/>
		</make>
	</data>

	<data id="import_checksums">
		<FEED source="stageGrammar" src="checksums.jsonl"/>
		<make table="file_checksums"/>
	</data>

	<!-- ======================= DataLink and SODA ======================= -->

	<STREAM id="loadMuselib">
		<setup imports="os">
			<code>
				from gavo import api
				muselib, _ = api.loadPythonModule(os.path.join(
					base.getConfig("inputsDir"), "muse/res/muselib"))
			</code>
		</setup>
	</STREAM>

	<service id="dl" allowed="dlget,dlmeta">
		<meta name="title">MUSE DataLink and SODA cutouts</meta>
		<meta name="description">DataLink for every published MUSE product
			(#this, #preview, #auxiliary QA page, #cutout, #progenitor raw frames,
			#calibration master calibrations) and SODA cutouts (CIRCLE, POLYGON,
			POS, BAND) of the DATA extension. Proprietary products need the
			credentials of a member of their owner group.</meta>
		<datalinkCore>
			<descriptorGenerator>
				<FEED source="loadMuselib"/>
				<code>
					return muselib.guard_soda_request(muselib.make_descriptor(pubDID), args)
				</code>
			</descriptorGenerator>

			<metaMaker procDef="//soda#fits_makeWCSParams"/>
			<metaMaker>
				<FEED source="loadMuselib"/>
				<code>
					yield from muselib.band_meta(descriptor, MS, InputKey, Values)
				</code>
			</metaMaker>
			<metaMaker>
				<FEED source="loadMuselib"/>
				<code>
					yield from muselib.related_links(descriptor, LinkDef)
				</code>
			</metaMaker>
			<metaMaker>
				<FEED source="loadMuselib"/>
				<code>
					yield from muselib.ancillary_links(descriptor, LinkDef)
				</code>
			</metaMaker>

			<dataFunction>
				<FEED source="loadMuselib"/>
				<code>
					muselib.open_data(descriptor)
				</code>
			</dataFunction>
			<metaMaker procDef="//soda#fits_makePOSMeta"/>
			<metaMaker procDef="//soda#fits_makePOLYGONMeta"/>
			<metaMaker procDef="//soda#fits_makeCIRCLEMeta"/>
			<dataFunction procDef="//soda#fits_translateSODAPOS"/>
			<dataFunction>
				<FEED source="loadMuselib"/>
				<code>
					muselib.plan_cutout(descriptor, args)
				</code>
			</dataFunction>
			<dataFormatter>
				<FEED source="loadMuselib"/>
				<code>
					if descriptor.dataIsPristine:
						return File(descriptor.localPath(), "image/fits")
					return TemporaryFile(muselib.write_cutout(descriptor), "image/fits")
				</code>
			</dataFormatter>
		</datalinkCore>
	</service>

	<service id="pv" allowed="dlget">
		<meta name="title">MUSE previews</meta>
		<meta name="description">White-light PNG previews of MUSE products;
			proprietary ones only for members of the owner group.</meta>
		<datalinkCore>
			<descriptorGenerator>
				<FEED source="loadMuselib"/>
				<code>
					return muselib.make_descriptor(pubDID, muselib.PlainDescriptor)
				</code>
			</descriptorGenerator>
			<dataFunction>
				<FEED source="loadMuselib"/>
				<code>
					muselib.require_access(descriptor.owner, descriptor.embargo)
					descriptor.data = File(muselib.preview_path(descriptor.accref),
						"image/png")
				</code>
			</dataFunction>
		</datalinkCore>
	</service>

	<!-- ===================== regression tests (dachs test) ===================== -->

	<regSuite title="MUSE products, DataLink, SODA and protection" sequential="True">
		<regTest title="TAP: ivoa.obscore holds published MUSE products">
			<url parSet="TAP" QUERY="SELECT COUNT(*) AS n FROM ivoa.obscore
				WHERE obs_collection = 'MUSE-GTO'">/tap/sync</url>
			<code>
				self.assertTrue(self.getFirstVOTableRow()["n"] > 0)
			</code>
		</regTest>
		<regTest title="SIAv2 finds MUSE cubes">
			<url COLLECTION="MUSE-GTO" DPTYPE="cube"
				>/__system__/siap2/sitewide/siap2.xml</url>
			<code>
				self.assertTrue(len(self.getVOTableRows()) > 0)
			</code>
		</regTest>
		<regTest title="ObsCore access_url of a public cube is its DataLink">
			<url parSet="TAP" QUERY="SELECT TOP 1 c.dl_url FROM muse.cubes AS c
				WHERE c.embargo IS NULL AND c.dptype = 'cube'">/tap/sync</url>
			<code>
				self.followUp.url.content_ = self.getFirstVOTableRow()["dl_url"]
			</code>
		</regTest>
		<regTest title="DataLink: #this and a SODA service descriptor">
			<url>dl/dlmeta</url>
			<code>
				self.assertHasStrings("#this", "ivo://ivoa.net/std/SODA#sync-1.0")
			</code>
		</regTest>
		<regTest title="SODA: a BAND cutout of a public cube">
			<url parSet="TAP" QUERY="SELECT TOP 1 c.pub_did FROM muse.cubes AS c
				WHERE c.embargo IS NULL AND c.dptype = 'cube'">/tap/sync</url>
			<code>
				from urllib.parse import quote
				did = self.getFirstVOTableRow()["pub_did"]
				self.followUp.url.content_ = (base.makeAbsoluteURL("/muse/q/dl/dlget")
					+ "?ID=" + quote(did, safe="") + "&amp;BAND=" + quote("6e-07 6.01e-07"))
			</code>
		</regTest>
		<regTest title="SODA answers FITS">
			<url>dl/dlget</url>
			<code>
				self.assertHTTPStatus(200)
				self.assertTrue(self.data.startswith(b"SIMPLE  ="))
			</code>
		</regTest>
		<regTest title="An embargoed product exists">
			<url parSet="TAP" QUERY="SELECT TOP 1 accref FROM muse.cubes
				WHERE embargo IS NOT NULL">/tap/sync</url>
			<code>
				# TAP serves accref as the product's /getproduct URL
				self.followUp.url.content_ = self.getFirstVOTableRow()["accref"]
			</code>
		</regTest>
		<regTest title="... and is refused to anonymous clients">
			<url>dl/dlmeta</url>
			<code>
				self.assertHTTPStatus(401)
			</code>
		</regTest>
	</regSuite>
</resource>
